// Redoc for /api/v1/redoc/: a static file, so the page needs no inline script under the CSP.
"use strict";
(function () {
  var container = document.getElementById("redoc-container");
  // The nonce of this script element is the page's style nonce: Redoc puts it on the
  // <style> elements it creates (styled-components), which the policy then accepts.
  var nonce = document.currentScript ? document.currentScript.nonce : undefined;
  Redoc.init(
    container.dataset.specUrl,
    {
      nonce: nonce,
      // Search runs in a Web Worker built from a blob: URL, which the policy forbids.
      disableSearch: true,
      hideDownloadButton: false,
    },
    container
  );
})();
