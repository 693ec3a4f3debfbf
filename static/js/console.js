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
