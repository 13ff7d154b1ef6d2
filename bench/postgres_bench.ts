/**
 * Placing orders through the PostgreSQL store (pool of 16, synchronous_commit
 * on), the same work as `store_bench.ts`: each iteration places 500
 * concurrent orders, so orders/s = 500 / (time per iteration). Group commit
 * (the store's `placeOrder`) against one transaction per order.
 *
 * Runs against `FORKFLOW_BENCH_PG_URL`, else `FORKFLOW_TEST_PG_URL`, else a
 * postgres:// `DATABASE_URL`, else the throwaway cluster of `deno task pg`
 * when it is running; without any, the benchmarks are registered as ignored.
 * It uses (and recreates) the database `forkflow_bench` on that server.
 */
import postgres from "postgres";
import { openPostgresStore, type PostgresStore } from "../db/postgres/store.ts";
import { clusterStatus } from "../db/postgres/cluster.ts";
import { placeOrderTx } from "../db/postgres/orders.ts";
import { orderJson } from "../domain/wire.ts";

const CONCURRENT = 500;
const BENCH_DB = "forkflow_bench";

async function serverUrl(): Promise<string | null> {
  for (
    const name of [
      "FORKFLOW_BENCH_PG_URL",
      "FORKFLOW_TEST_PG_URL",
      "DATABASE_URL",
    ]
  ) {
    const url = Deno.env.get(name);
    if (url && /^postgres(ql)?:\/\//.test(url)) return url;
  }
  const local = await clusterStatus().catch(() => null);
  return local?.running ? local.url : null;
}

/** Recreates the bench database; null when the server does not answer. */
async function benchDatabase(url: string): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice() {} });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await sql.unsafe(`CREATE DATABASE ${BENCH_DB}`);
  } catch (e) {
    console.error(`postgres bench skipped: ${(e as Error).message}`);
    return null;
  } finally {
    await sql.end({ timeout: 1 });
  }
  const u = new URL(url);
  u.pathname = `/${BENCH_DB}`;
  return u.toString();
}

async function setup(url: string) {
  const store = await openPostgresStore(url);
  const items: number[] = [];
  for (
    const [i, stock] of [[1, null], [2, null], [3, 1_000_000_000]] as const
  ) {
    const m = await store.createMenuItem({
      name: `Dish ${i}`,
      description: "",
      priceCents: 1000 + i,
      category: "Mains",
      available: true,
      stock,
    });
    items.push(m.id);
  }
  return { store, items };
}

let seq = 0;
function placeMany(
  store: PostgresStore,
  lines: { menuItemId: number; quantity: number }[],
  keyed: boolean,
) {
  return Promise.all(Array.from({ length: CONCURRENT }, () => {
    const n = seq++;
    return store.placeOrder(
      { items: lines, notes: `bench ${n}` },
      keyed
        ? { idempotency: { scope: "bench", key: `k${n}`, fingerprint: "f" } }
        : {},
    );
  }));
}

const server = await serverUrl();
const url = server ? await benchDatabase(server) : null;
if (!server) {
  console.error(
    "postgres bench skipped: no PostgreSQL (start one with `deno task pg:start`)",
  );
}
const ctx = url ? await setup(url) : null;
const ignore = ctx === null;
const tracked = ctx
  ? [{ menuItemId: ctx.items[0]!, quantity: 2 }, {
    menuItemId: ctx.items[2]!,
    quantity: 1,
  }]
  : [];
const untracked = ctx
  ? [{ menuItemId: ctx.items[0]!, quantity: 2 }, {
    menuItemId: ctx.items[1]!,
    quantity: 1,
  }]
  : [];

Deno.bench({
  name: "postgres: 500 concurrent orders (tracked stock + idempotency key)",
  group: "postgres: place 500 orders",
  baseline: true,
  ignore,
  async fn() {
    await placeMany(ctx!.store, tracked, true);
  },
});

Deno.bench({
  name: "postgres: one transaction per order, 500 concurrent (same work)",
  group: "postgres: place 500 orders",
  ignore,
  async fn() {
    const store = ctx!.store;
    await Promise.all(Array.from({ length: CONCURRENT }, () => {
      const n = seq++;
      return store.transaction((tx) =>
        placeOrderTx(tx, { items: tracked, notes: `bench ${n}` }, {
          idempotency: { scope: "bench", key: `k${n}`, fingerprint: "f" },
          status: 200,
          render: orderJson,
          pool: store.sql,
        })
      );
    }));
  },
});

Deno.bench({
  name: "postgres: 500 concurrent orders without idempotency key",
  group: "postgres: place 500 orders",
  ignore,
  async fn() {
    await placeMany(ctx!.store, tracked, false);
  },
});

Deno.bench({
  name: "postgres: 500 concurrent orders of untracked items (no hot row)",
  group: "postgres: place 500 orders",
  ignore,
  async fn() {
    await placeMany(ctx!.store, untracked, true);
  },
});

globalThis.addEventListener("unload", () => {
  ctx?.store.close();
});
