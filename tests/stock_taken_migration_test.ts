/**
 * Migrating a database written before `order_items.stock_taken` (issue 24,
 * defect 3; libSQL version 4, PostgreSQL version 5): an old line counts as
 * having taken stock only when the event log shows its item tracked at the
 * moment the order was placed, and cancelling old orders afterwards gives
 * back exactly that. Also: both migration runners apply a version below one
 * already applied (the numbers of this change leave a gap for another).
 */
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import postgres from "postgres";
import { migrate } from "../db/libsql/schema.ts";
import { openLibsqlStore } from "../db/libsql/store.ts";
import { sqlOf } from "../db/libsql/writer.ts";
import { migratePostgres } from "../db/postgres/schema.ts";
import { openPostgresStore } from "../db/postgres/store.ts";
import type { Store } from "../db/store.ts";
import type { MenuItem } from "../domain/types.ts";
import {
  oldItem,
  oldLibsql,
  oldOrder,
  oldPostgres,
  oldSetStock,
} from "./_old_orders.ts";
import type { OldDb } from "./_old_orders.ts";
import { createTempDatabase, postgresSkipReason } from "./_postgres.ts";

/** A fresh database of one backend: its old-schema writer, then its store. */
interface Backend {
  name: string;
  skip?: string;
  /** Our migration's version on this backend. */
  version: number;
  open(): Promise<
    {
      old: () => Promise<OldDb>;
      store: () => Promise<Store>;
      versions: () => Promise<number[]>;
      migrateProbe: (list: typeof PROBE) => Promise<number[]>;
      drop(): Promise<void>;
    }
  >;
}

const PROBE = [1, 2, 3].map((version) => ({
  version,
  name: `probe ${version}`,
  statements: [`CREATE TABLE probe_${version} (x integer)`],
}));

const libsql: Backend = {
  name: "libsql",
  version: 4,
  async open() {
    const dir = await Deno.makeTempDir({ prefix: "forkflow-migrate-" });
    const url = `file:${dir}/old.db`;
    const raw = async <T>(fn: (s: ReturnType<typeof sqlOf>) => Promise<T>) => {
      const client = createClient({ url });
      try {
        return await fn(sqlOf(client));
      } finally {
        client.close();
      }
    };
    return {
      old: () => oldLibsql(url),
      store: () => openLibsqlStore(url),
      versions: () =>
        raw(async (s) =>
          (await s.all(
            "SELECT version FROM schema_migrations ORDER BY version",
          ))
            .map((r) => Number(r.version))
        ),
      migrateProbe: (list) => raw((s) => migrate(s, list)),
      drop: () => Deno.remove(dir, { recursive: true }),
    };
  },
};

const pg: Backend = {
  name: "postgres",
  skip: postgresSkipReason(),
  version: 5,
  async open() {
    const { url, drop } = await createTempDatabase();
    const raw = async <T>(fn: (s: postgres.Sql) => Promise<T>) => {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        return await fn(sql);
      } finally {
        await sql.end({ timeout: 5 });
      }
    };
    return {
      old: () => oldPostgres(url),
      store: () => openPostgresStore(url),
      versions: () =>
        raw(async (s) =>
          (await s`SELECT version FROM schema_migrations ORDER BY version`)
            .map((r) => Number(r.version))
        ),
      migrateProbe: (list) => raw((s) => migratePostgres(s, list)),
      drop,
    };
  },
};

for (const backend of [libsql, pg]) {
  const name = (what: string) =>
    `[${backend.name}] ${what}${
      backend.skip ? ` (skipped: ${backend.skip})` : ""
    }`;

  Deno.test({
    name: name(
      "an old database migrates: a line took stock only if its item was tracked when ordered",
    ),
    ignore: backend.skip !== undefined,
    async fn() {
      const db = await backend.open();
      try {
        await migratesOldOrders(db, backend.version);
      } finally {
        await db.drop();
      }
    },
  });

  Deno.test({
    name: name("the migration runner applies a version below one applied"),
    ignore: backend.skip !== undefined,
    async fn() {
      const db = await backend.open();
      try {
        const gap = PROBE.filter((m) => m.version !== 2);
        assert.deepEqual(await db.migrateProbe(gap), [1, 3]);
        assert.deepEqual(await db.migrateProbe(PROBE), [2]);
        assert.deepEqual(await db.migrateProbe(PROBE), []);
        assert.deepEqual(await db.versions(), [1, 2, 3]);
      } finally {
        await db.drop();
      }
    },
  });
}

/** The old database's story: items tracked or not, orders in every state, two gaps in the log. */
async function writeOldOrders(old: OldDb) {
  const soup = await oldItem(old, "Soup of the day", null);
  const cake = await oldItem(old, "Cake", 10);
  const pie = await oldItem(old, "Pie", 2);
  // Written without its event (say, by hand): nothing shows it tracked.
  const bread = await oldItem(old, "Bread", 5, { event: false });
  const orders = {
    untracked: await oldOrder(old, "pending", [{ item: soup, quantity: 50 }]),
    tracked: await oldOrder(old, "in_progress", [
      { item: cake, quantity: 3 },
      { name: "Water", quantity: 1 },
      { item: cake, quantity: 1 },
    ]),
    soldOut: await oldOrder(old, "ready", [{ item: pie, quantity: 2 }]),
    finished: await oldOrder(old, "completed", [{ item: cake, quantity: 2 }]),
    later: await (async () => {
      await oldSetStock(old, soup, 3);
      return await oldOrder(old, "pending", [{ item: soup, quantity: 1 }]);
    })(),
    noItemEvent: await oldOrder(old, "pending", [{ item: bread, quantity: 2 }]),
    noOrderEvent: await oldOrder(
      old,
      "pending",
      [{ item: cake, quantity: 1 }],
      {
        event: false,
      },
    ),
  };
  return { items: [soup, cake, pie, bread], orders };
}

/** Each item's [stock, available], by name. */
async function stockOf(store: Store, items: MenuItem[]) {
  const out: Record<string, [number | null, boolean]> = {};
  for (const m of items) {
    const item = (await store.getMenuItem(m.id))!;
    out[m.name] = [item.stock, item.available];
  }
  return out;
}

async function migratesOldOrders(
  db: Awaited<ReturnType<Backend["open"]>>,
  version: number,
) {
  const old = await db.old();
  const { items, orders } = await writeOldOrders(old);
  await old.close();

  const store = await db.store();
  try {
    assert.ok((await db.versions()).includes(version));
    const taken: Record<string, number[]> = {};
    for (const [key, o] of Object.entries(orders)) {
      taken[key] = (await store.getOrder(o.id))!.items.map((l) => l.stockTaken);
    }
    assert.deepEqual(taken, {
      untracked: [0],
      tracked: [3, 0, 1],
      soldOut: [2],
      finished: [0],
      later: [1],
      noItemEvent: [0],
      noOrderEvent: [0],
    });
    assert.deepEqual(await stockOf(store, items), {
      "Soup of the day": [2, true],
      Cake: [3, true],
      Pie: [0, false],
      Bread: [3, true],
    });
    await store.setOrderStatus(orders.soldOut.id, "in_progress");
    for (const o of Object.values(orders)) {
      if (o.status !== "completed") {
        await store.setOrderStatus(o.id, "cancelled");
      }
    }
    assert.deepEqual(await stockOf(store, items), {
      "Soup of the day": [3, true],
      Cake: [7, true],
      Pie: [2, true],
      Bread: [3, true],
    });
  } finally {
    await store.close();
  }
}
