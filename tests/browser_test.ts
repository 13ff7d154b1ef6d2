/**
 * The kitchen and cashier pages in a real headless Chromium against a real
 * server process (`deno run -A main.ts`), on every available backend.
 * Screenshots go to docs/screenshots/ when UPDATE_SCREENSHOTS=1 (from the
 * libSQL run), else to a temporary folder.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import type { Store } from "../db/store.ts";
import {
  browserSkipReason,
  freePort,
  launchBrowser,
  ServerProcess,
} from "./_browser.ts";
import { addItem, backends, type TestBackend } from "./_helpers.ts";

const skipReason = browserSkipReason();

interface Ctx {
  store: Store;
  server: ServerProcess;
  browser: Browser;
  kitchen: Page;
  cashier: Page;
  items: Record<string, number>;
  /** Messages of the pages' consoles that signal a problem. */
  problems: string[];
}

async function countOrders(store: Store): Promise<number> {
  return (await store.listOrders({ limit: 1000 })).length;
}

async function newestOrderId(store: Store): Promise<number> {
  return (await store.listOrders({ limit: 1 }))[0]?.id ?? 0;
}

async function openPage(ctx: Ctx, path: string): Promise<Page> {
  const page = await ctx.browser.newPage();
  page.on("pageerror", (e) => ctx.problems.push(`${path}: ${e.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) {
      ctx.problems.push(`${path}: ${m.text()}`);
    }
  });
  await page.goto(`${ctx.server.base}${path}`);
  return page;
}

async function api(
  ctx: Ctx,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: { id: number; [k: string]: unknown } }> {
  const res = await fetch(`${ctx.server.base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const ticket = (id: number) => `.ticket[data-id="${id}"]`;

async function addToCart(cashier: Page, names: string[]) {
  for (const name of names) {
    await cashier.click(`.item:has(.name:text-is("${name}"))`);
  }
}

async function cashierOrderReachesKitchen(ctx: Ctx) {
  const { kitchen, cashier } = ctx;
  await kitchen.waitForSelector('#conn[data-state="live"]');
  await kitchen.evaluate(() => {
    (globalThis as { __loaded?: string }).__loaded = "first load";
  });
  await cashier.waitForSelector(".item");
  await addToCart(cashier, ["Burger", "Burger", "Cola"]);
  await cashier.fill("#table", "12");
  await cashier.fill("#customer", "<b>Eve</b>");
  await cashier.fill("#notes", '<img src=x onerror="window.__pwned=1">');
  await cashier.click("#submit");
  // The 1 s budget covers the cashier's request, the commit and the push.
  const card = await kitchen.waitForSelector(".ticket", { timeout: 1000 });
  const id = Number(await card.getAttribute("data-id"));
  await cashier.waitForSelector('#result[data-kind="ok"]');
  assert.equal(await cashier.textContent("#result"), `Order #${id} sent`);
  const text = await card.textContent() ?? "";
  assert.match(text, /2×Burger/);
  assert.match(text, /1×Cola/);
  assert.match(text, /Table 12 · <b>Eve<\/b>/);
  assert.match(text, /<img src=x onerror="window.__pwned=1">/);
  for (const page of [kitchen, cashier]) {
    assert.equal(
      await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned),
      undefined,
    );
  }
  assert.equal(
    await kitchen.evaluate(() =>
      (globalThis as { __loaded?: string }).__loaded
    ),
    "first load",
    "the kitchen page did not reload",
  );
  assert.equal(await kitchen.textContent("#alert"), `New ticket #${id}`);
  assert.ok(Number(await kitchen.getAttribute("body", "data-beeps")) >= 1);
  assert.deepEqual(
    await kitchen.$$eval(
      "#allday li",
      (lis) => lis.map((li) => li.textContent),
    ),
    ["Burger2", "Cola1"],
  );
  return id;
}

async function bumpingMovesIt(ctx: Ctx, id: number) {
  const { kitchen, store } = ctx;
  const steps = [
    ["in_progress", "Cooking"],
    ["ready", "Ready"],
  ];
  for (const [status, label] of steps) {
    await kitchen.click(ticket(id));
    await kitchen.waitForSelector(`${ticket(id)}.status-${status}`);
    assert.equal(await kitchen.textContent(`${ticket(id)} .status`), label);
    assert.equal((await store.getOrder(id))?.status, status);
  }
  assert.equal(await kitchen.textContent("#recall"), `Recall #${id}`);
  await kitchen.click("#recall");
  await kitchen.waitForSelector(`${ticket(id)}.status-in_progress`);
  assert.equal((await store.getOrder(id))?.status, "in_progress");
  await kitchen.click(ticket(id));
  await kitchen.waitForSelector(`${ticket(id)}.status-ready`);
  await kitchen.click(ticket(id));
  await kitchen.waitForSelector(ticket(id), { state: "detached" });
  assert.equal((await store.getOrder(id))?.status, "completed");
}

async function cancelledIsStruckThrough(ctx: Ctx) {
  const { kitchen } = ctx;
  const placed = await api(ctx, "POST", "/orders", {
    items: [{ menu_item_id: ctx.items.Fries, quantity: 1 }],
    table: 4,
  });
  await kitchen.waitForSelector(ticket(placed.body.id));
  const cancel = await api(ctx, "PATCH", `/orders/${placed.body.id}`, {
    status: "cancelled",
  });
  assert.equal(cancel.status, 200);
  await kitchen.waitForSelector(`${ticket(placed.body.id)}.status-cancelled`);
  const decoration = await kitchen.$eval(
    `${ticket(placed.body.id)} .lines`,
    (node) =>
      (globalThis as unknown as {
        getComputedStyle(n: unknown): { textDecorationLine: string };
      }).getComputedStyle(node).textDecorationLine,
  );
  assert.equal(decoration, "line-through");
}

async function stationAndAging(ctx: Ctx) {
  const drinks = await api(ctx, "POST", "/orders", {
    items: [
      { menu_item_id: ctx.items.Cola, quantity: 3 },
      { menu_item_id: ctx.items.Burger, quantity: 1 },
    ],
  });
  const grillOnly = await api(ctx, "POST", "/orders", {
    items: [{ menu_item_id: ctx.items.Burger, quantity: 1 }],
  });
  const bar = await openPage(
    ctx,
    "/kitchen/display?station=Drinks&warn=0.01&late=0.02",
  );
  try {
    await bar.waitForSelector(ticket(drinks.body.id));
    assert.equal(
      await bar.textContent(`${ticket(drinks.body.id)} .lines`),
      "3×Cola",
    );
    assert.equal(await bar.$(ticket(grillOnly.body.id)), null);
    // warn after 0.6 s, late after 1.2 s.
    await bar.waitForSelector(`${ticket(drinks.body.id)}.age-late`);
    assert.equal(await bar.textContent("#station"), "· Drinks");
  } finally {
    await bar.close();
  }
  for (const { body } of [drinks, grillOnly]) {
    await api(ctx, "PATCH", `/orders/${body.id}`, { status: "cancelled" });
  }
}

async function soldOutDisablesLive(ctx: Ctx) {
  const { cashier } = ctx;
  const button = `.item:has(.name:text-is("Tiramisu"))`;
  assert.equal(await cashier.isDisabled(button), false);
  const off = await api(
    ctx,
    "PUT",
    `/menu/${ctx.items.Tiramisu}/availability`,
    {
      available: false,
    },
  );
  assert.equal(off.status, 200);
  await cashier.waitForSelector(`${button}:disabled`);
  await api(ctx, "PUT", `/menu/${ctx.items.Tiramisu}/availability`, {
    available: true,
  });
  await cashier.waitForSelector(`${button}:enabled`);
}

async function doubleClickMakesOneOrder(ctx: Ctx) {
  const { cashier, store } = ctx;
  const before = await countOrders(store);
  await addToCart(cashier, ["Fries"]);
  await cashier.dblclick("#submit");
  await cashier.waitForSelector('#result[data-kind="ok"]');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await countOrders(store), before + 1);

  // The answer is lost after the server committed: the retry carries the same key.
  let intercepted = 0;
  await cashier.route("**/orders", async (route) => {
    if (route.request().method() !== "POST" || intercepted++ > 0) {
      return route.continue();
    }
    const reached = await route.fetch();
    assert.equal(reached.status(), 200);
    await route.abort("connectionreset");
  });
  await cashier.evaluate('document.getElementById("result").textContent = ""');
  await addToCart(cashier, ["Fries", "Cola"]);
  await cashier.click("#submit");
  await cashier.waitForSelector('#result[data-kind="ok"]', { timeout: 15_000 });
  await cashier.unroute("**/orders");
  assert.ok(intercepted >= 2, "the order was sent again");
  assert.equal(await countOrders(store), before + 2);
  assert.equal(
    await cashier.textContent("#result"),
    `Order #${await newestOrderId(store)} sent`,
  );
}

async function survivesServerRestart(ctx: Ctx) {
  const { kitchen, cashier, store, server } = ctx;
  const before = await countOrders(store);
  await server.kill();
  await kitchen.waitForSelector('#conn[data-state="reconnecting"]');

  // Ordered at the till while the server is down: it waits in the outbox.
  await addToCart(cashier, ["Burger"]);
  await cashier.fill("#table", "offline");
  await cashier.click("#submit");
  await cashier.waitForSelector("#waiting:visible");
  assert.match(await cashier.textContent("#waiting") ?? "", /1 order waiting/);
  assert.equal(
    await cashier.evaluate(() =>
      JSON.parse(localStorage.getItem("forkflow.outbox")!).length
    ),
    1,
  );
  // Written to the database by another instance meanwhile.
  const direct = [];
  for (const table of ["direct-1", "direct-2"]) {
    direct.push(
      await store.placeOrder({
        items: [{ menuItemId: ctx.items.Cola!, quantity: 1 }],
        table,
      }),
    );
  }
  await server.start();

  for (const { orderId } of direct) {
    await kitchen.waitForSelector(ticket(orderId), { timeout: 20_000 });
  }
  await kitchen.waitForSelector('#conn[data-state="live"]');
  await cashier.waitForSelector("#waiting", {
    state: "hidden",
    timeout: 20_000,
  });
  await cashier.waitForSelector('#result[data-kind="ok"]');
  const offline = (await store.listOrders({ limit: 1000 }))
    .filter((o) => o.table === "offline");
  assert.equal(offline.length, 1, "the queued order arrived exactly once");
  await kitchen.waitForSelector(ticket(offline[0]!.id));
  assert.equal(await countOrders(store), before + 3);
  assert.equal(
    await kitchen.evaluate(() =>
      (globalThis as { __loaded?: string }).__loaded
    ),
    "first load",
    "the kitchen page did not reload",
  );
  // A reload finds an empty outbox and sends nothing again.
  await cashier.reload();
  await cashier.waitForSelector('#conn[data-state="live"]');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await countOrders(store), before + 3);
}

async function screenshots(ctx: Ctx) {
  const dir = Deno.env.get("UPDATE_SCREENSHOTS") === "1" &&
      ctx.store.backend === "libsql"
    ? new URL("../docs/screenshots/", import.meta.url).pathname
    : await Deno.makeTempDir({ prefix: "forkflow-screens-" });
  await Deno.mkdir(dir, { recursive: true });
  // A clean board: earlier tickets leave, four new ones arrive a beat apart.
  for (const o of await ctx.store.listActiveOrders()) {
    const to = o.status === "pending" ? "cancelled" : "completed";
    if (o.status === "in_progress") {
      await api(ctx, "PATCH", `/orders/${o.id}`, { status: "ready" });
    }
    await api(ctx, "PATCH", `/orders/${o.id}`, { status: to });
  }
  const place = (table: string, lines: [string, number][], notes?: string) =>
    api(ctx, "POST", "/orders", {
      items: lines.map(([name, quantity]) => ({
        menu_item_id: ctx.items[name],
        quantity,
      })),
      table,
      notes,
    });
  const terrace = await api(ctx, "POST", "/api/order", {
    table: "Terrace 2",
    items: [{ name: "burger", quantity: 1 }, {
      name: "Kids' pancakes",
      quantity: 2,
    }],
  });
  for (const status of ["in_progress", "ready"]) {
    await api(ctx, "PATCH", `/orders/${terrace.body.id}`, { status });
  }
  await place("3", [["Burger", 2], ["Fries", 2]], "one burger no onions");
  await new Promise((r) => setTimeout(r, 1500));
  const cooking = await place("8", [["Fries", 1], ["Cola", 2]]);
  await api(ctx, "PATCH", `/orders/${cooking.body.id}`, {
    status: "in_progress",
  });
  await new Promise((r) => setTimeout(r, 1300));
  await place("11", [["Tiramisu", 1], ["Cola", 1]], "birthday candle");
  const screen = await openPage(ctx, "/kitchen/display?warn=0.02&late=0.045");
  try {
    await screen.setViewportSize({ width: 1280, height: 720 });
    await screen.waitForSelector(".ticket.age-late");
    await screen.screenshot({ path: `${dir}/kitchen.png` });
  } finally {
    await screen.close();
  }
  const { cashier } = ctx;
  await cashier.setViewportSize({ width: 1280, height: 720 });
  await addToCart(cashier, ["Burger", "Fries", "Fries"]);
  await cashier.fill("#table", "5");
  await cashier.fill("#notes", "sauce on the side");
  await cashier.screenshot({ path: `${dir}/cashier.png` });
  for (const file of ["kitchen.png", "cashier.png"]) {
    assert.ok((await Deno.stat(`${dir}/${file}`)).size > 10_000);
  }
}

async function runFlows(backend: TestBackend, t: Deno.TestContext) {
  const db = await backend.open();
  const items: Record<string, number> = {};
  for (
    const [name, category, stock, priceCents] of [
      ["Burger", "Grill", null, 950],
      ["Fries", "Grill", null, 350],
      ["Cola", "Drinks", 500, 280],
      ["Tiramisu", "Desserts", 20, 600],
      ["Soup of the day", "Starters", null, 550],
      ["Lemonade", "Drinks", 0, 320],
    ] as const
  ) {
    items[name] = await addItem(db.store, {
      name,
      category,
      stock,
      priceCents,
    });
  }
  const server = new ServerProcess(db.url, freePort());
  let browser: Browser | null = null;
  try {
    await server.start();
    browser = await launchBrowser();
    const ctx: Ctx = {
      store: db.store,
      server,
      browser,
      items,
      problems: [],
    } as unknown as Ctx;
    ctx.kitchen = await openPage(ctx, "/kitchen/display");
    ctx.cashier = await openPage(ctx, "/");
    let id = 0;
    await t.step(
      "a cashier order appears on the open kitchen page within 1 s, no reload",
      async () => {
        id = await cashierOrderReachesKitchen(ctx);
      },
    );
    await t.step(
      "bumping moves the ticket; recall brings a ready ticket back",
      () => bumpingMovesIt(ctx, id),
    );
    await t.step(
      "a cancelled ticket is struck through",
      () => cancelledIsStruckThrough(ctx),
    );
    await t.step(
      "?station= shows that station's lines; tickets age in colour",
      () => stationAndAging(ctx),
    );
    await t.step(
      "switching a dish off disables it on the cashier live",
      () => soldOutDisablesLive(ctx),
    );
    await t.step(
      "a double-clicked submit and a lost answer each make exactly one order",
      () => doubleClickMakesOneOrder(ctx),
    );
    await t.step(
      "server killed and restarted: the kitchen catches up, the queued order arrives once",
      () => survivesServerRestart(ctx),
    );
    await t.step("screenshots of both pages", () => screenshots(ctx));
    assert.deepEqual(ctx.problems, [], "no page errors or CSP violations");
  } finally {
    await browser?.close();
    await server.stop();
    await db.cleanup();
  }
}

for (const backend of backends()) {
  const skip = backend.skip ?? skipReason;
  Deno.test({
    name: `[${backend.name}] kitchen and cashier pages in headless Chromium${
      skip ? ` (skipped: ${skip})` : ""
    }`,
    ignore: skip !== null && skip !== undefined,
    fn: (t) => runFlows(backend, t),
  });
}
