// Starts Swagger UI on authd's OpenAPI document. It lives in a file of its
// own, not inline in the page, so that the page's Content-Security-Policy
// can allow scripts from 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url, // relative, so the page works behind a path prefix
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the default badge would call validator.swagger.io
    persistAuthorization: false, // keep tokens out of localStorage
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
})();
