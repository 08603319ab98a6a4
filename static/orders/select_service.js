/* Select service: picking a radio (click, or the arrow keys) highlights its row and loads its details
   into the panel beside the list, without reloading the page. Progressive enhancement only: without
   JavaScript the "Details" link of each row reloads the page with that service highlighted and selected. */
(function () {
  "use strict";

  var pending = null;

  function show(radio) {
    var row = radio.closest("li[data-details-url]");
    var panel = document.getElementById("wz-detail");
    if (!row || !panel) return;
    document.querySelectorAll(".service-list li.wz-highlighted").forEach(function (li) {
      li.classList.remove("wz-highlighted");
    });
    row.classList.add("wz-highlighted");
    var url = row.dataset.detailsUrl;
    if (window.history && history.replaceState) history.replaceState(null, "", url);
    if (pending) pending.abort();
    pending = typeof AbortController === "function" ? new AbortController() : null;
    panel.setAttribute("aria-busy", "true");
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    fetch(url + sep + "partial=detail", {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
      signal: pending ? pending.signal : undefined
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      panel.innerHTML = html;
      panel.removeAttribute("aria-busy");
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
      panel.removeAttribute("aria-busy");
      window.location.assign(url);  // fall back to the no-JavaScript path
    });
  }

  // Discard: the confirm question in a native <dialog> instead of the confirm page.
  document.addEventListener("click", function (event) {
    var discard = event.target.closest && event.target.closest("a.wz-discard[data-dialog]");
    if (!discard) return;
    var dialog = document.getElementById(discard.dataset.dialog);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      dialog.showModal();
    }
  });

  // With JavaScript, "Details" does what a click on the row does: select it and show its details.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#select-service-form a.wz-details-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    var radio = link.closest("li").querySelector('input[type="radio"]');
    if (!radio) return;
    event.preventDefault();
    radio.checked = true;
    radio.focus();
    show(radio);
  });

  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (radio.matches && radio.matches('#select-service-form input[type="radio"][name="service"]')) show(radio);
  });
})();
