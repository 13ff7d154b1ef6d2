/** `start-work?wait_ms=`: waiting for a machine in arrival order instead of an immediate 409. */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { openStore } from "../db/open.ts";
import {
  testConfig,
  type TestCtx,
  testEachBackend,
  withServer,
} from "./_helpers.ts";

async function post(
  base: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serve = <T>(t: TestCtx, fn: (base: string) => Promise<T>) =>
  withServer((req) => t.app.fetch(req), fn);

/** One machine and one product, the machine claimed; returns their ids. */
async function busyScene(base: string) {
  const machine =
    (await post(base, "/api/vending-machines", { name: "Only" })).json.id;
  const product =
    (await post(base, "/api/products", { name: "Cola", stock: 100 })).json.id;
  assert.equal((await post(base, "/api/orchestrator/start-work")).status, 200);
  return { machine, product };
}

const buy = (base: string, s: { machine: number; product: number }) =>
  post(base, "/api/orchestrator/choose-product", {
    machine_id: s.machine,
    product_id: s.product,
    count: 1,
    coins: 1,
  });

testEachBackend(
  "waiters get a machine in arrival order as leases end",
  async (t) => {
    await serve(t, async (base) => {
      const s = await busyScene(base);
      assert.equal((await buy(base, s)).status, 200); // processing for 150 ms
      const order: string[] = [];
      const waiter = async (name: string) => {
        const r = await post(base, "/api/orchestrator/start-work?wait_ms=5000");
        assert.equal(r.status, 200, name);
        order.push(name);
        await sleep(20);
        assert.equal((await buy(base, s)).status, 200, name); // the next lease
      };
      const waiting: Promise<void>[] = [];
      for (const name of ["first", "second", "third"]) {
        waiting.push(waiter(name));
        await sleep(30); // arrive in this order, all before the lease ends
      }
      await Promise.all(waiting);
      assert.deepEqual(order, ["first", "second", "third"]);
    });
  },
  { vendingProcessingMs: 150 },
);

testEachBackend(
  "a wait that runs out answers 409 no sooner than wait_ms",
  async (t) => {
    await serve(t, async (base) => {
      await busyScene(base);
      const started = performance.now();
      const r = await post(base, "/api/orchestrator/start-work?wait_ms=150");
      assert.equal(r.status, 409);
      assert.deepEqual(r.json, { error: "No idle vending machine available." });
      assert.ok(performance.now() - started >= 140);
    });
  },
);

testEachBackend(
  "a reset wakes the first waiter; a caller that does not wait cannot overtake it",
  async (t) => {
    await serve(t, async (base) => {
      const s = await busyScene(base);
      const started = performance.now();
      const waiting = post(base, "/api/orchestrator/start-work?wait_ms=10000");
      await sleep(100);
      const reset = await post(
        base,
        `/api/vending-machines/${s.machine}/reset`,
      );
      assert.equal(reset.status, 200);
      const rude = await post(base, "/api/orchestrator/start-work");
      assert.equal(rude.status, 409, "the waiter was first");
      const r = await waiting;
      assert.equal(r.status, 200);
      assert.equal(r.json.machine.id, s.machine);
      assert.ok(
        performance.now() - started < 5000,
        "woken by the reset, not a timeout",
      );
    });
  },
);

testEachBackend(
  "an expiring claim frees the machine for a waiter",
  async (t) => {
    await serve(t, async (base) => {
      const s = await busyScene(base); // claimed, never answered
      const r = await post(base, "/api/orchestrator/start-work?wait_ms=3000");
      assert.equal(r.status, 200);
      assert.equal(r.json.machine.id, s.machine);
      assert.equal(r.json.machine.usage_count, 0);
    });
  },
  { vendingClaimTtlMs: 150 },
);

testEachBackend(
  "a waiter whose client leaves gives up its place",
  async (t) => {
    await serve(t, async (base) => {
      const s = await busyScene(base);
      const gone = new AbortController();
      const leaving = post(
        base,
        "/api/orchestrator/start-work?wait_ms=10000",
        undefined,
        gone.signal,
      )
        .catch((e) => e);
      await sleep(50);
      gone.abort();
      assert.ok((await leaving) instanceof Error);
      await sleep(50);
      await post(base, `/api/vending-machines/${s.machine}/reset`);
      await sleep(50);
      const next = await post(base, "/api/orchestrator/start-work");
      assert.equal(
        next.status,
        200,
        "nobody is queued any more, and the machine is free",
      );
    });
  },
);

testEachBackend(
  "a reset through another instance on the same database wakes a waiter",
  async (t) => {
    const other = await openStore(t.url);
    try {
      const elsewhere = createApp({ config: testConfig(), store: other });
      await serve(t, async (base) => {
        const s = await busyScene(base);
        const waiting = post(
          base,
          "/api/orchestrator/start-work?wait_ms=10000",
        );
        await sleep(100);
        const reset = await elsewhere.request(
          `/api/vending-machines/${s.machine}/reset`,
          {
            method: "POST",
          },
        );
        assert.equal(reset.status, 200);
        await reset.body?.cancel();
        const started = performance.now();
        const r = await waiting;
        assert.equal(r.status, 200, "woken, not timed out");
        assert.equal(r.json.machine.id, s.machine);
        assert.ok(performance.now() - started < 3000);
      });
    } finally {
      await other.close();
    }
  },
);

testEachBackend(
  "server shutdown ends a wait at once with the 409",
  async (t) => {
    const stop = new AbortController();
    const app = createApp({
      config: testConfig(),
      store: t.store,
      shutdown: stop.signal,
    });
    await withServer((req) => app.fetch(req), async (base) => {
      await busyScene(base);
      const started = performance.now();
      const waiting = post(base, "/api/orchestrator/start-work?wait_ms=20000");
      await sleep(100);
      stop.abort();
      const r = await waiting;
      assert.equal(r.status, 409);
      assert.deepEqual(r.json, { error: "No idle vending machine available." });
      assert.ok(performance.now() - started < 5000);
    });
  },
);
