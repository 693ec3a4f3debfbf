// opsconsole: small behaviours on top of htmx. Every page works without this file.
(function () {
  "use strict";

  // A button or form with data-confirm asks first (forms htmx does not post; htmx forms
  // use hx-confirm). Without JavaScript the server shows a confirmation page instead.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("hx-post")) return;
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || form.dataset.confirm;
    if (!message) return;
    if (!window.confirm(message)) {
      event.preventDefault();
      return;
    }
    var confirmed = form.querySelector("input[name=confirmed]");
    if (!confirmed) {
      confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      form.appendChild(confirmed);
    }
    confirmed.value = "1";
  });

  // A live region (data-keep-open) refreshed by htmx keeps what the reader opened and
  // where they scrolled: open <details> come back open, the page does not jump.
  var kept = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-keep-open")) return;
    kept = {
      id: target.id,
      open: Array.prototype.map.call(target.querySelectorAll("details[open][id]"), function (d) {
        return d.id;
      }),
      scrollY: window.scrollY,
    };
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!kept) return;
    var region = document.getElementById(kept.id);
    if (region) {
      kept.open.forEach(function (id) {
        var details = document.getElementById(id);
        if (details && region.contains(details)) details.open = true;
      });
    }
    window.scrollTo(window.scrollX, kept.scrollY);
    kept = null;
  });
})();

// Copy buttons: data-copy names the element whose text goes to the clipboard. Hidden
// without JavaScript (the download link does the job then).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.querySelector(button.dataset.copy);
      if (!source) return;
      navigator.clipboard.writeText(source.value || source.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  });
});

// The time zone page offers the browser's own zone.
document.addEventListener("DOMContentLoaded", function () {
  var label = document.querySelector("[data-browser-zone]");
  if (!label || !window.Intl) return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  label.querySelector("input").value = zone;
  label.querySelector("[data-browser-zone-name]").textContent = zone;
  label.hidden = false;
});
