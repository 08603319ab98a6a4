/* Every page (templates/base.html): behaviour that would otherwise be an inline handler, which the
   Content-Security-Policy (script-src 'self', core/csp.py) blocks.
   - a <select data-autosubmit> submits its form on change (the language switch, Rows per page);
   - a link with data-confirm-dialog="<id>" opens that <dialog> (its question and the form that does it)
     instead of the confirm page it points to, which is what it opens without JavaScript (the company
     page's TERMINATE and CREDENTIALS TO ALL USERS). */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("a[data-confirm-dialog]");
    if (!opener) return;
    var dialog = document.getElementById(opener.dataset.confirmDialog);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      dialog.showModal();
    }
  });
})();
