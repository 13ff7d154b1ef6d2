/**
 * The pages with roles on, in headless Chromium: the kitchen screen asks for
 * the staff token once, then loads and follows the live feed (which takes
 * the token from the stream cookie), and shows hostile text as text.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { createApp } from "../app.ts";
import { browserSkipReason, launchBrowser } from "./_browser.ts";
import { addItem, openTempLibsql, testConfig, withServer } from "./_helpers.ts";

const ADMIN = "browser-admin-5e8a1f";
const STAFF = "browser-staff-93c0d4";
const PAYLOAD = "<script>alert(1)</script>' OR 1=1 --";
const skip = browserSkipReason();

function watch(page: Page, problems: string[]) {
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(m.text());
    }
  });
  page.on("dialog", (d) => {
    problems.push(`native dialog: ${d.message()}`);
    void d.dismiss();
  });
}

Deno.test({
  name: `kitchen page asks for the staff token once, then goes live${
    skip ? ` (skipped: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const db = await openTempLibsql();
    const stop = new AbortController();
    const app = createApp({
      config: testConfig({
        adminToken: ADMIN,
        staffToken: STAFF,
        protectReads: true,
      }),
      store: db.store,
      shutdown: stop.signal,
    });
    const item = await addItem(db.store, { name: "Soup" });
    const first = await db.store.placeOrder({
      items: [{ menuItemId: item, quantity: 1 }],
      customerName: PAYLOAD,
    });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      await withServer(app.fetch, async (base) => {
        const page = await browser.newPage();
        watch(page, problems);
        await page.goto(`${base}/kitchen/display`);
        const dialog = page.locator("dialog.token-dialog");
        await dialog.waitFor({ state: "visible", timeout: 10_000 });
        await dialog.locator("input[name=token]").fill(STAFF);
        await dialog.locator("button[value=save]").click();
        await page.locator(`.ticket[data-id="${first.orderId}"]`).waitFor({
          timeout: 10_000,
        });
        await page.locator('#conn[data-state="live"]').waitFor({
          timeout: 10_000,
        });

        // The feed is authenticated (by cookie): a new order arrives live.
        const res = await fetch(`${base}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            items: [{ menu_item_id: item, quantity: 2 }],
          }),
        });
        assert.equal(res.status, 200);
        const { id } = await res.json();
        await page.locator(`.ticket[data-id="${id}"]`).waitFor({
          timeout: 10_000,
        });

        // Hostile text is shown as text, never run or parsed as markup.
        const text = await page.locator(`.ticket[data-id="${first.orderId}"]`)
          .textContent();
        assert.ok(text?.includes(PAYLOAD), text ?? "");
        assert.equal(await page.locator("#tickets script").count(), 0);

        // Asked once: a reload goes straight to the tickets.
        await page.reload();
        await page.locator(`.ticket[data-id="${id}"]`).waitFor({
          timeout: 10_000,
        });
        assert.equal(await dialog.count(), 0);
        await page.close();
        stop.abort();
      });
      assert.deepEqual(problems, []);
    } finally {
      stop.abort();
      await browser.close();
      await db.cleanup();
    }
  },
});
