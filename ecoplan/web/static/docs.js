// Starts the Swagger UI on /docs (ecoplan/api_docs.py, served as /docs/assets/docs.js): a file of its
// own, because the Content-Security-Policy allows no inline script.
window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: el.dataset.openapi, dom_id: "#swagger-ui", deepLinking: true,
                               presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});
});
