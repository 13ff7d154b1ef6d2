/**
 * Leases instead of sleeping jobs: processing ends by itself, unanswered
 * claims expire, both survive a restart, and a reset cannot be undone.
 */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { openStore } from "../db/open.ts";
import {
  jsonReq,
  testConfig,
  type TestCtx,
  testEachBackend,
} from "./_helpers.ts";

type App = TestCtx["app"];

async function call(app: App, method: string, path: string, body?: unknown) {
  const res = await app.request(path, jsonReq(method, body));
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One machine and one product; returns their ids. */
async function scene(app: App) {
  const machine =
    (await call(app, "POST", "/api/vending-machines", { name: "A" })).json.id;
  const product =
    (await call(app, "POST", "/api/products", { name: "Cola", stock: 10 })).json
      .id;
  return { machine, product };
}

async function buy(app: App, s: { machine: number; product: number }) {
  const claim = await call(app, "POST", "/api/orchestrator/start-work");
  assert.equal(claim.status, 200);
  assert.equal(claim.json.machine.id, s.machine);
  const r = await call(app, "POST", "/api/orchestrator/choose-product", {
    machine_id: s.machine,
    product_id: s.product,
    count: 1,
    coins: 1,
  });
  assert.equal(r.status, 200);
  return r.json;
}

const machineOf = async (app: App, id: number) =>
  (await call(app, "GET", `/api/vending-machines/${id}`)).json;

testEachBackend(
  "a purchase keeps the machine processing until its lease ends, then idle + 1",
  async (t) => {
    const s = await scene(t.app);
    await buy(t.app, s);
    assert.equal((await machineOf(t.app, s.machine)).status, "processing");
    assert.equal(
      (await call(t.app, "POST", "/api/orchestrator/start-work")).status,
      409,
      "a processing machine cannot be claimed",
    );
    await sleep(200);
    const m = await machineOf(t.app, s.machine);
    assert.equal(m.status, "idle");
    assert.equal(m.usage_count, 1);
    const listed = (await call(t.app, "GET", "/api/vending-machines")).json[0];
    assert.deepEqual(listed, m, "list and show agree");
    await buy(t.app, s);
    await sleep(200);
    assert.equal((await machineOf(t.app, s.machine)).usage_count, 2);
  },
  { vendingProcessingMs: 120 },
);

testEachBackend(
  "an unanswered claim returns to idle after the claim TTL, uncounted",
  async (t) => {
    const s = await scene(t.app);
    await call(t.app, "POST", "/api/orchestrator/start-work");
    assert.equal((await machineOf(t.app, s.machine)).status, "choose_product");
    await sleep(200);
    const m = await machineOf(t.app, s.machine);
    assert.equal(m.status, "idle");
    assert.equal(m.usage_count, 0);
    const late = await call(t.app, "POST", "/api/orchestrator/choose-product", {
      machine_id: s.machine,
      product_id: s.product,
      count: 1,
      coins: 1,
    });
    assert.deepEqual(late.json, {
      error: "Machine is not in choose_product state.",
    });
    assert.equal((await call(t.app, "GET", "/api/products")).json[0].stock, 10);
    const again = await call(t.app, "POST", "/api/orchestrator/start-work");
    assert.equal(
      again.json.machine.id,
      s.machine,
      "the expired claim is claimable",
    );
  },
  { vendingClaimTtlMs: 100 },
);

testEachBackend("a reset cannot be undone by the old lease", async (t) => {
  const s = await scene(t.app);
  await buy(t.app, s);
  const reset = await call(
    t.app,
    "POST",
    `/api/vending-machines/${s.machine}/reset`,
  );
  assert.equal(reset.status, 200);
  assert.equal(reset.json.machine.status, "idle");
  assert.equal(
    reset.json.machine.usage_count,
    1,
    "the interrupted vend counts once",
  );
  const claim = await call(t.app, "POST", "/api/orchestrator/start-work");
  assert.equal(claim.json.machine.id, s.machine);
  await sleep(300); // well past the old lease
  const m = await machineOf(t.app, s.machine);
  assert.equal(m.status, "choose_product", "still the new customer's");
  assert.equal(m.usage_count, 1, "not counted a second time");
  const r = await call(t.app, "POST", "/api/orchestrator/choose-product", {
    machine_id: s.machine,
    product_id: s.product,
    count: 1,
    coins: 1,
  });
  assert.equal(r.status, 200);
}, { vendingProcessingMs: 150 });

testEachBackend(
  "a reset after the lease has passed is a 409: the machine is already idle",
  async (t) => {
    const s = await scene(t.app);
    await buy(t.app, s);
    await sleep(120);
    const r = await call(
      t.app,
      "POST",
      `/api/vending-machines/${s.machine}/reset`,
    );
    assert.equal(r.status, 409);
    assert.deepEqual(r.json, { error: "Machine is already idle." });
    assert.equal((await machineOf(t.app, s.machine)).usage_count, 1);
  },
  { vendingProcessingMs: 50 },
);

testEachBackend(
  "leases survive a restart: a new store on the same database ends them",
  async (t) => {
    const s = await scene(t.app);
    await buy(t.app, s);
    const store = await openStore(t.url);
    try {
      const app = createApp({
        config: testConfig({ vendingProcessingMs: 200 }),
        store,
      });
      assert.equal((await machineOf(app, s.machine)).status, "processing");
      await sleep(250);
      const m = await machineOf(app, s.machine);
      assert.equal(m.status, "idle");
      assert.equal(m.usage_count, 1);
      // The restarted server writes the settled state with its next change.
      const renamed = await call(
        app,
        "PUT",
        `/api/vending-machines/${s.machine}`,
        { name: "A2" },
      );
      assert.equal(renamed.json.status, "idle");
      assert.equal(renamed.json.usage_count, 1);
    } finally {
      await store.close();
    }
    const after = await machineOf(t.app, s.machine);
    assert.equal(after.name, "A2");
    assert.equal(after.usage_count, 1, "persisted once, not counted again");
  },
  { vendingProcessingMs: 200 },
);
