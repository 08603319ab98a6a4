/* UTC date-time fields of the wizard (Billing start date, Schedule provisioning (UTC)): beside the
   UTC value, the same moment in the reseller's own time zone, computed here in the browser.
   Progressive enhancement only: the fields work the same without JavaScript. */
(function () {
  "use strict";

  var localFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  // "YYYY-MM-DDTHH:MM" (the picker) or "YYYY-MM-DD HH:MM" (typed), read as UTC.
  function utcDate(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec((text || "").trim());
    return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5])) : null;
  }

  function show(out) {
    var input = document.getElementById(out.dataset.localFor);
    if (!input) return;
    var when = utcDate(input.value);
    out.textContent = when ? (out.dataset.label || "") + ": " + localFormat.format(when) : "";
  }

  function init() {
    document.querySelectorAll("[data-local-for]").forEach(function (out) {
      var input = document.getElementById(out.dataset.localFor);
      if (!input) return;
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + out.id).trim());
      input.addEventListener("input", function () { show(out); });
      input.addEventListener("change", function () { show(out); });
      show(out);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
