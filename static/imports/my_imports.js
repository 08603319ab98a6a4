/* My imports: progressive enhancement only; every action also works without JavaScript.
   - the X opens its confirm <dialog> instead of the confirm page;
   - Reschedule loads its form into a <dialog> (htmx) instead of opening the reschedule page;
   - the reseller's local time is shown under each UTC schedule time, computed here in the browser;
   - Rows per page applies on change (data-autosubmit, static/js/portal.js). The live refresh is htmx's (hx-trigger="every Ns" on #imports-live);
   - the selection bar counts the ticked jobs, and a row the live refresh swaps in keeps its tick. */
(function () {
  "use strict";

  var localFormat = new Intl.DateTimeFormat(undefined, {
    year: "2-digit", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  function showLocalTimes(root) {
    (root || document).querySelectorAll(".imports-local[data-utc]").forEach(function (el) {
      var when = new Date(el.dataset.utc);
      if (!isNaN(when)) {
        el.textContent = (el.dataset.label || "") + ": " + localFormat.format(when);
        el.parentElement.title = el.textContent;
      }
    });
  }

  // "YYYY-MM-DD HH:MM" typed in UTC → the same moment in the browser's time zone.
  function previewLocal(input) {
    var out = document.querySelector('[data-local-for="' + input.id + '"]');
    if (!out) return;
    var m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(input.value.trim());
    out.textContent = m ? (out.dataset.label || "") + ": " + localFormat.format(new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]))) : "";
  }

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

  document.addEventListener("input", function (event) {
    if (event.target.closest(".imports-reschedule-form")) previewLocal(event.target);
  });

  // The reschedule form arrived in the dialog (first time, or again with the reason it was refused).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "reschedule-dialog-body") {
      var dialog = document.getElementById("reschedule-dialog");
      if (!dialog.open && typeof dialog.showModal === "function") dialog.showModal();
      var input = dialog.querySelector(".imports-reschedule-form input[type=text]");
      if (input) { previewLocal(input); input.focus(); }
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

  // Rows swapped in by the live refresh show their local time too, and keep their tick.
  document.addEventListener("htmx:afterSettle", function () { showLocalTimes(document); restoreTicks(document); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { showLocalTimes(event.detail.target); restoreTicks(event.detail.target); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showLocalTimes(document); countSelection(); });
  } else {
    showLocalTimes(document);
    countSelection();
  }
})();
