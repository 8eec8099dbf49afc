// The API's documentation, served by the gateway itself: GET /openapi.json (built once, at start,
// from the functions' own schemas: shared/transport/openapi.ts) and GET /docs, Swagger UI from the pinned
// swagger-ui-dist package. Every script, style and image the page loads comes from this gateway,
// and its Content-Security-Policy says so, so the page works on a machine with no way out.
//
// swagger-ui-dist is found through Node's resolution at run time (it is a folder of browser files,
// not code to bundle), so a bundled gateway needs it installed beside the bundle.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Hono } from "hono";
import { notFound } from "#shared/platform/errors.ts";
import type { FunctionDeclaration } from "#shared/transport/function.ts";
import { buildOpenApi } from "#shared/transport/openapi.ts";

/** The files of swagger-ui-dist the page uses (and their source maps), by name: nothing else is served. */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui.css.map": "application/json",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-bundle.js.map": "application/json",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Swagger UI sets style attributes and uses data: URIs for a few icons.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>cqrs-ts API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/assets/favicon-16x16.png" sizes="16x16">
    <style>body { margin: 0; background: #fafafa; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// No topbar (its URL box would load other documents) and no online validator badge: only this API.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  tryItOutEnabled: false,
  displayRequestDuration: true,
});
`;

/** swagger-ui-dist's folder, as its own getAbsoluteFSPath() would say, without loading its browser bundle. */
function swaggerUiFolder(): string {
  return path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

/** GET /openapi.json, GET /docs and the page's files. Throws at once if the document or the assets are missing. */
export function docsRoutes(functions: readonly FunctionDeclaration[]): Hono {
  const document = JSON.stringify(buildOpenApi(functions));
  const folder = swaggerUiFolder();
  for (const name of Object.keys(ASSETS)) fs.statSync(path.join(folder, name));
  const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const read = (name: string) => {
    let file = cache.get(name);
    if (!file) {
      file = fs.promises.readFile(path.join(folder, name)).then((buffer) => new Uint8Array(buffer));
      // A failed read is not kept: the next request tries again.
      file.catch(() => cache.delete(name));
      cache.set(name, file);
    }
    return file;
  };

  return new Hono()
    .get("/openapi.json", (c) => c.body(document, 200, { "content-type": "application/json; charset=utf-8" }))
    .get("/docs", (c) =>
      c.body(PAGE, 200, { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP }),
    )
    .get("/docs/init.js", (c) => c.body(INIT, 200, { "content-type": "text/javascript; charset=utf-8" }))
    .get("/docs/assets/:file", async (c) => {
      const name = c.req.param("file");
      const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (type === undefined) throw notFound(`no documentation asset ${name}`);
      const bytes = await read(name);
      return c.body(bytes, 200, { "content-type": type, "cache-control": "public, max-age=3600" });
    });
}
