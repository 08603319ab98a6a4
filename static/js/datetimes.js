/* Date-times on every page (core/datetimes.py is the one home of their rules; this only shows):
   - under each date-time control ([data-dt-control]: the YYYY-MM-DD HH:MM text and its time zone),
     the UTC moment it will be stored as, asked from the server (/dates/utc/) as the reseller types,
     so the line says exactly what the form will store (DST gaps and folds included);
   - a date-time cell's local line (.dt-local[data-utc]) that the server left empty (the user has no
     time zone of its own) is written in the browser's zone, in the cells' format:
     YYYY-MM-DD HH:MM and the zone's abbreviation.
   Progressive enhancement only: the server renders both lines itself whenever it can. */
(function () {
  "use strict";

  var timers = new WeakMap();

  function parts(date, zone) {
    var options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                    hourCycle: "h23", timeZoneName: "short" };
    if (zone) options.timeZone = zone;
    var out = {};
    new Intl.DateTimeFormat("en-US", options).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function localText(date) {
    var p = parts(date), utc = parts(date, "UTC");
    var text = p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
    if (text === utc.year + "-" + utc.month + "-" + utc.day + " " + utc.hour + ":" + utc.minute) return "";
    return text + " " + (p.timeZoneName || "").replace(/^GMT(?=[+-]|$)/, "UTC");
  }

  function fillLocalLines(root) {
    (root || document).querySelectorAll(".dt-local[data-utc]").forEach(function (el) {
      if (el.textContent.trim()) return;
      var when = new Date(el.dataset.utc);
      if (!isNaN(when)) el.textContent = localText(when);
    });
  }

  function refresh(control) {
    var text = control.querySelector(".dt-text"), zone = control.querySelector(".dt-zone");
    var line = text && document.getElementById(text.id + "_utc");
    if (!line) return;
    var url = control.dataset.previewUrl + "?" + new URLSearchParams({ value: text.value, zone: zone ? zone.value : "UTC" });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        line.textContent = data.error || data.utc;
        line.classList.toggle("dt-utc-error", !!data.error);
      })
      .catch(function () { /* offline: the form still checks on submit */ });
  }

  function later(control) {
    clearTimeout(timers.get(control));
    timers.set(control, setTimeout(function () { refresh(control); }, 150));
  }

  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var control = event.target.closest && event.target.closest("[data-dt-control]");
      if (control) later(control);
    });
  });

  // Content swapped in by htmx (My imports' live refresh, the reschedule dialog).
  document.addEventListener("htmx:afterSettle", function (event) { fillLocalLines(event.detail && event.detail.elt); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { fillLocalLines(event.detail && event.detail.target); });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { fillLocalLines(document); });
  else fillLocalLines(document);
})();
