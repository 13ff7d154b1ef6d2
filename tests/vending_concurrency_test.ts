/**
 * The orchestrator under concurrent load, over real HTTP on loopback: no
 * machine handed out twice, no stock oversold, stock and uses conserved.
 */
import assert from "node:assert/strict";
import { type TestCtx, testEachBackend, withServer } from "./_helpers.ts";

async function post(base: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function get(base: string, path: string) {
  const res = await fetch(`${base}${path}`);
  return await res.json();
}

async function machines(base: string, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      (await post(base, "/api/vending-machines", { name: `M${i}` })).json.id,
    );
  }
  return ids;
}

const serve = <T>(t: TestCtx, fn: (base: string) => Promise<T>) =>
  withServer((req) => t.app.fetch(req), fn);

testEachBackend(
  "2,000 concurrent start-work on 5 idle machines: 5 claims, 1,995 × 409",
  async (t) => {
    await serve(t, async (base) => {
      const ids = await machines(base, 5);
      const answers = await Promise.all(
        Array.from(
          { length: 2000 },
          () => post(base, "/api/orchestrator/start-work"),
        ),
      );
      const ok = answers.filter((a) => a.status === 200);
      const busy = answers.filter((a) => a.status === 409);
      assert.equal(ok.length, 5);
      assert.equal(busy.length, 1995);
      for (const b of busy) {
        assert.deepEqual(b.json, {
          error: "No idle vending machine available.",
        });
      }
      const got = ok.map((a) => a.json.machine.id).sort((a, b) => a - b);
      assert.deepEqual(
        got,
        ids,
        "five distinct machines, each handed out once",
      );
      const listed = await get(base, "/api/vending-machines");
      assert.ok(
        listed.every((m: { status: string }) => m.status === "choose_product"),
      );
    });
  },
);

testEachBackend(
  "concurrent choose-product on stock 3 through 20 machines: exactly 3 sold",
  async (t) => {
    await serve(t, async (base) => {
      await machines(base, 20);
      const product =
        (await post(base, "/api/products", { name: "Last cans", stock: 3 }))
          .json.id;
      const claimed: number[] = [];
      for (let i = 0; i < 20; i++) {
        claimed.push(
          (await post(base, "/api/orchestrator/start-work")).json.machine.id,
        );
      }
      const answers = await Promise.all(
        claimed.map((machine_id) =>
          post(base, "/api/orchestrator/choose-product", {
            machine_id,
            product_id: product,
            count: 1,
            coins: 1,
          })
        ),
      );
      const sold = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 422);
      assert.equal(sold.length, 3);
      assert.equal(refused.length, 17);
      for (const r of refused) {
        assert.deepEqual(r.json, { error: "Insufficient stock. Available: 0" });
      }
      assert.deepEqual(sold.map((s) => s.json.product.stock).sort(), [0, 1, 2]);
      const [p] = await get(base, "/api/products");
      assert.equal(p.stock, 0);
      const states = (await get(base, "/api/vending-machines")).map(
        (m: { status: string }) => m.status,
      );
      assert.equal(states.filter((s: string) => s === "processing").length, 3);
      assert.equal(
        states.filter((s: string) => s === "choose_product").length,
        17,
      );
    });
  },
);

/** A small deterministic PRNG, so a failing run can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

testEachBackend(
  "mixed random run conserves stock and counts every vend once",
  async (t) => {
    const random = prng(20261121);
    await serve(t, async (base) => {
      const ids = await machines(base, 5);
      const initial = [40, 25, 10];
      const products: number[] = [];
      for (const [i, stock] of initial.entries()) {
        products.push(
          (await post(base, "/api/products", { name: `P${i}`, stock })).json.id,
        );
      }
      const sold = products.map(() => 0);
      let purchases = 0;
      const worker = async () => {
        for (let step = 0; step < 12; step++) {
          const claim = await post(
            base,
            "/api/orchestrator/start-work?wait_ms=300",
          );
          if (claim.status === 409) continue;
          assert.equal(claim.status, 200);
          const machine_id = claim.json.machine.id;
          if (random() < 0.1) {
            const r = await post(
              base,
              `/api/vending-machines/${machine_id}/reset`,
            );
            assert.ok([200, 409].includes(r.status));
            continue;
          }
          const which = Math.floor(random() * products.length);
          const count = 1 + Math.floor(random() * 3);
          const coins = random() < 0.1 ? count + 1 : count;
          const r = await post(base, "/api/orchestrator/choose-product", {
            machine_id,
            product_id: products[which],
            count,
            coins,
          });
          if (r.status === 200) {
            sold[which]! += count;
            purchases++;
            assert.ok(r.json.product.stock >= 0);
          } else {
            assert.equal(r.status, 422);
            assert.match(
              r.json.error,
              /^(Insufficient stock\. Available: \d+|Coins must equal the number of products \(1 coin per item\)\.|Machine is not in choose_product state\.)$/,
            );
            // Give the machine back, as a kiosk would after a refused sale.
            await post(base, `/api/vending-machines/${machine_id}/reset`);
          }
          if (random() < 0.2) {
            await post(
              base,
              `/api/vending-machines/${ids[Math.floor(random() * 5)]}/reset`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      assert.ok(purchases > 0, "the run sold something");

      const remaining = (await get(base, "/api/products")) as {
        id: number;
        stock: number;
      }[];
      for (const [i, id] of products.entries()) {
        const left = remaining.find((p) => p.id === id)!.stock;
        assert.equal(initial[i]! - sold[i]!, left, `product ${id}`);
      }
      // Every purchase ends exactly once (lease or reset), so once every lease
      // has passed the uses add up to the purchases.
      await new Promise((r) => setTimeout(r, 80));
      const uses = (await get(base, "/api/vending-machines")).reduce(
        (n: number, m: { usage_count: number }) => n + m.usage_count,
        0,
      );
      assert.equal(uses, purchases);
    });
  },
  { vendingProcessingMs: 20 },
);
