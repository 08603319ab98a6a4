/* Every page (templates/base.html): behaviour that would otherwise be an inline handler, which the
   Content-Security-Policy (script-src 'self', core/csp.py) blocks.
   - a <select data-autosubmit> submits its form on change (the language switch, Rows per page). */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });
})();
