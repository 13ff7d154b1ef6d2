// /docs is Swagger UI from npm (swagger-ui-dist), served by this server from
// its package, so it needs no CDN and keeps the pages' CSP ('self' only).
// "Authorize" takes a bearer token for "Try it out" on protected routes.
addEventListener("DOMContentLoaded", () => {
  // deno-lint-ignore no-undef
  globalThis.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    filter: true,
    displayRequestDuration: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
