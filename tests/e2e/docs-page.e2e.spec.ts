// The interactive docs page in a real browser: headless Chromium (Debian's, driven by
// playwright-core; no browser is downloaded) opens GET /docs on a running gateway, with no request
// leaving 127.0.0.1 and none failing, finds every operation, and creates a product with the page's
// own "Try it out" controls. A screenshot is kept in .local/screenshots/docs.png to look at.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { allFunctions } from "#functions/registry.ts";
import { adminHeaders } from "../support/auth.ts";
import { openBrowser } from "../support/chromium.ts";
import { runId, startSystem, type TestSystem } from "../support/system.ts";

const SCREENSHOT = path.resolve(import.meta.dirname, "../../.local/screenshots/docs.png");
const tag = `docs${runId.slice(-6)}${Date.now().toString(36)}`;

let system: TestSystem | undefined;
let base = process.env.E2E_GATEWAY_URL ?? "";
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
let context: BrowserContext | undefined;

/** What the page asked for: every request, the ones that failed, and answers of 400 or more. */
const requests: string[] = [];
const failures: string[] = [];
const consoleErrors: string[] = [];

before(async () => {
  if (!base) {
    system = await startSystem("docs_page_e2e");
    base = system.url;
  }
  browser = await openBrowser();
  context = browser.context;
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

async function openDocs(): Promise<Page> {
  assert.ok(context, "the browser started");
  const page = await context.newPage();
  page.on("request", (request) => requests.push(request.url()));
  page.on("requestfailed", (request) =>
    failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? "failed"}`),
  );
  page.on("response", (response) => {
    if (response.status() >= 400)
      failures.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  const response = await page.goto(`${base}/docs`, { waitUntil: "load" });
  assert.equal(response?.status(), 200);
  return page;
}

describe("GET /docs in Chromium", () => {
  test("lists every operation, and Try it out creates a product (201), with no request failing or leaving 127.0.0.1", async () => {
    const page = await openDocs();
    // Each operation is a block whose id Swagger UI derives from its tag and operationId.
    const blocks = page.locator(".swagger-ui .opblock");
    await blocks.first().waitFor();
    const ids = await blocks.evaluateAll((elements) => elements.map((element) => element.id));
    const documented = allFunctions.map((fn) => fn.name);
    assert.deepEqual(ids.map((id) => id.replace(/^operations-[^-]+-/, "")).sort(), [...documented].sort());
    await page.getByText("cqrs-ts", { exact: false }).first().waitFor();

    // Creating needs a token: given once through Swagger UI's Authorize dialog, as a user would.
    await page.locator(".swagger-ui .auth-wrapper button.authorize").click();
    const dialog = page.locator(".swagger-ui .modal-ux");
    const token = (await adminHeaders()).authorization?.replace(/^Bearer /, "") ?? "";
    await dialog.locator("input").first().fill(token);
    await dialog.getByRole("button", { name: "Apply credentials" }).click();
    await dialog.locator("button.btn-done").click();

    const create = page.locator("#operations-products-CreateProduct");
    await create.locator(".opblock-summary-control").click();
    await create.getByRole("button", { name: "Try it out" }).click();
    const body = create.locator("textarea.body-param__text");
    await body.click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.press("Delete");
    const product = {
      sku: `${tag}-try`,
      name: "Widget from the docs page",
      priceCents: 1500,
      currency: "EUR",
      tags: [tag],
    };
    await body.pressSequentially(JSON.stringify(product));
    assert.deepEqual(JSON.parse(await body.inputValue()), product);
    await create.getByRole("button", { name: "Execute" }).click();

    // The status Swagger UI shows for the answer it got.
    const status = create.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    assert.match((await status.textContent()) ?? "", /^\s*201\b/);
    const shown = await create
      .locator(".live-responses-table .response .response-col_description")
      .first()
      .textContent();
    assert.match(shown ?? "", /"version": 1/);

    await page.getByText("Schemas", { exact: true }).scrollIntoViewIfNeeded();
    await create.scrollIntoViewIfNeeded();
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    assert.deepEqual(failures, []);
    const origin = new URL(base).origin;
    const elsewhere = requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"));
    assert.deepEqual(elsewhere, [], "every request goes to the gateway");
    assert.ok(new URL(base).hostname === "127.0.0.1" || process.env.E2E_GATEWAY_URL, "the gateway is on 127.0.0.1");
    assert.ok(
      requests.some((url) => url.endsWith("/api/v1/products")),
      "the create went through the page",
    );
    assert.deepEqual(consoleErrors, []);
  });
});
