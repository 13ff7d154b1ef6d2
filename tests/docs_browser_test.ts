/**
 * `/docs` in headless Chromium: Swagger UI from npm renders every operation of
 * `/openapi.json` under the pages' CSP, and "Authorize" + "Try it out" sends
 * the bearer token, so an admin route answers from the page itself.
 */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { browserSkipReason, launchBrowser } from "./_browser.ts";
import { openTempLibsql, testConfig, withServer } from "./_helpers.ts";

const ADMIN = "docs-admin-71c3b9";
const skip = browserSkipReason();

/** How many operations an OpenAPI document lists. */
function operationCount(doc: { paths: Record<string, object> }): number {
  const methods = ["get", "put", "post", "delete", "patch"];
  return Object.values(doc.paths).reduce(
    (n, item) =>
      n + Object.keys(item).filter((k) => methods.includes(k)).length,
    0,
  );
}

Deno.test({
  name: `/docs renders every operation and tries an admin route with the token${
    skip ? ` (skipped: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const db = await openTempLibsql();
    const app = createApp({
      config: testConfig({ adminToken: ADMIN }),
      store: db.store,
    });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      await withServer(app.fetch, async (base) => {
        const doc = await (await fetch(`${base}/openapi.json`)).json();
        const page = await browser.newPage();
        page.on("pageerror", (e) => problems.push(e.message));
        page.on("console", (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) {
            problems.push(m.text());
          }
        });
        await page.goto(`${base}/docs`);
        await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
        assert.equal(
          await page.locator(".opblock").count(),
          operationCount(doc),
        );

        await page.locator("button.authorize").first().click();
        await page.locator(".modal-ux input[type=text]").fill(ADMIN);
        await page.locator(".modal-ux button.authorize").click();
        await page.locator(".modal-ux button.close-modal").click();

        const op = page.locator("#operations-Inventory-post_inventory");
        await op.locator(".opblock-summary").click();
        await op.locator("button.try-out__btn").click();
        await op.locator("textarea.body-param__text").fill(
          JSON.stringify({ name: "Crème fraîche", quantity: 12, unit: "kg" }),
        );
        await op.locator("button.execute").click();
        const status = op.locator(
          ".live-responses-table tr.response .response-col_status",
        )
          .first();
        await status.waitFor({ timeout: 10_000 });
        assert.match((await status.textContent()) ?? "", /201/);
        assert.equal(
          (await db.store.listInventory()).filter((i) =>
            i.name === "Crème fraîche"
          ).length,
          1,
        );
        await page.close();
      });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await db.cleanup();
    }
  },
});
