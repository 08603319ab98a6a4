/* My imports: progressive enhancement only; every action also works without JavaScript.
   - the X opens its confirm <dialog> instead of the confirm page;
   - Reschedule loads its form into a <dialog> (htmx) instead of opening the reschedule page;
   - the reseller's local time is shown under each UTC schedule time, computed here in the browser;
   - Rows per page applies on change (data-autosubmit, static/js/portal.js). The live refresh is htmx's (hx-trigger="every Ns" on #imports-live);
   - the selection bar counts the ticked jobs, and a row the live refresh swaps in keeps its tick. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("a.imports-cancel[data-dialog]");
    if (cancel) {
      var dialog = document.getElementById(cancel.dataset.dialog);
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
      }
      return;
    }
    var close = event.target.closest("[data-close-dialog]");
    if (close) {
      var open = close.closest("dialog");
      if (open) open.close();
    }
  });

  // The reschedule form arrived in the dialog (first time, or again with the reason it was refused).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "reschedule-dialog-body") {
      var dialog = document.getElementById("reschedule-dialog");
      if (!dialog.open && typeof dialog.showModal === "function") dialog.showModal();
      var input = dialog.querySelector(".imports-reschedule-form input[type=text]");
      if (input) input.focus();
    }
  });

  // The ticked jobs, by id: the live refresh replaces a row (and its checkbox) every few seconds.
  var ticked = {};

  function countSelection() {
    var out = document.querySelector(".imports-selection-count");
    if (!out) return;
    var n = document.querySelectorAll("input.imports-select:checked").length;
    out.textContent = n ? (out.dataset.some || "").replace("{count}", n) : (out.dataset.none || "");
  }

  function restoreTicks(root) {
    (root || document).querySelectorAll("input.imports-select").forEach(function (box) {
      if (ticked[box.value]) box.checked = true;
    });
    countSelection();
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.imports-select")) {
      ticked[event.target.value] = event.target.checked;
      countSelection();
    }
  });

  // Rows swapped in by the live refresh keep their tick.
  document.addEventListener("htmx:afterSettle", function () { restoreTicks(document); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { restoreTicks(event.detail.target); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", countSelection);
  } else {
    countSelection();
  }
})();
