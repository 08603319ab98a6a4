/* My imports: progressive enhancement only; every action also works without JavaScript.
   - the X opens its confirm <dialog> instead of the confirm page;
   - Reschedule loads its form into a <dialog> (htmx) instead of opening the reschedule page;
   - date-times (the local line of each cell, the reschedule control's UTC line) are static/js/datetimes.js';
   - Rows per page applies on change (data-autosubmit, static/js/portal.js). The live refresh is htmx's (hx-trigger="every Ns" on #imports-live). */
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
})();
