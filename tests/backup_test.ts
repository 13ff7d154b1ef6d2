import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { openLibsqlStore } from "../db/libsql/store.ts";
import { openPostgresStore } from "../db/postgres/store.ts";
import {
  backupLibsql,
  backupPostgres,
  localPath,
  snapshotName,
} from "../tasks/backup.ts";
import { findPgBinDir } from "../db/postgres/cluster.ts";
import { addItem, testConfig } from "./_helpers.ts";
import { postgresTestBackend } from "./_postgres.ts";

const TASK = new URL("../tasks/backup.ts", import.meta.url).pathname;

Deno.test("snapshot names and file URLs", () => {
  assert.equal(
    snapshotName(new Date("2026-01-21T10:15:00.123Z")),
    "forkflow-20260121T101500123Z",
  );
  assert.equal(localPath("file:data/forkflow.db"), "data/forkflow.db");
  assert.equal(localPath("file:/tmp/x.db"), "/tmp/x.db");
  assert.equal(localPath("file:///tmp/x.db"), "/tmp/x.db");
  assert.throws(() => localPath("libsql://db.example"), /remote libSQL/);
});

async function runBackupTask(url: string, dir: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TASK, dir],
    env: { DATABASE_URL: url },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("a snapshot taken under order load restores to a consistent database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-backup-" });
  const url = `file:${dir}/live.db`;
  const store = await openLibsqlStore(url);
  const INITIAL = { a: 100_000, b: 50_000 };
  let closed = false;
  try {
    const a = await addItem(store, { stock: INITIAL.a });
    const b = await addItem(store, { stock: INITIAL.b });
    const c = await addItem(store, { stock: null });
    let placed = 0;
    let stop = false;
    const load = async (seed: number) => {
      for (let i = 0; !stop; i++) {
        const q = 1 + ((seed + i) % 3);
        const p = await store.placeOrder({
          items: [
            { menuItemId: a, quantity: q },
            { menuItemId: (seed + i) % 2 ? b : c, quantity: 1 },
          ],
          customerName: `load-${seed}-${i}`,
        });
        placed++;
        if (i % 5 === 0) await store.setOrderStatus(p.orderId, "cancelled");
      }
    };
    const workers = Array.from({ length: 8 }, (_, s) => load(s));
    while (placed < 200) await new Promise((r) => setTimeout(r, 5));

    const before = placed;
    const [fromTask, inProcess] = await Promise.all([
      runBackupTask(url, `${dir}/backups`),
      backupLibsql(url, { dir: `${dir}/backups`, now: new Date(0) }),
    ]);
    const during = placed - before;
    stop = true;
    await Promise.all(workers);
    assert.ok(during > 0, "orders were committed while the snapshots ran");
    assert.match(fromTask, /\/backups\/forkflow-\d{8}T\d{9}Z\.db$/);
    assert.match(inProcess, /forkflow-19700101T000000000Z\.db$/);
    const total = (await store.read("SELECT COUNT(*) AS n FROM orders"))[0]!.n;
    await store.close();
    closed = true;

    for (const snapshot of [fromTask, inProcess]) {
      // Restore: copy the snapshot to the DATABASE_URL path, no -wal/-shm beside it.
      const restoreDir = await Deno.makeTempDir({ dir });
      await Deno.copyFile(snapshot, `${restoreDir}/forkflow.db`);
      const restored = await openLibsqlStore(`file:${restoreDir}/forkflow.db`);
      try {
        const one = async (sql: string) =>
          Number(Object.values((await restored.read(sql))[0]!)[0]);
        const check = await restored.read("PRAGMA integrity_check");
        assert.equal(String(Object.values(check[0]!)[0]), "ok");
        const orders = await one("SELECT COUNT(*) FROM orders");
        assert.ok(orders >= 200 && orders < Number(total), `${orders} orders`);
        assert.equal(
          await one(
            "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
          ),
          0,
          "every order has its lines",
        );
        assert.equal(
          await one("SELECT COUNT(*) FROM events WHERE type = 'order.created'"),
          orders,
          "one order.created event per order",
        );
        for (const [id, initial] of [[a, INITIAL.a], [b, INITIAL.b]]) {
          const stock = await one(
            `SELECT stock FROM menu_items WHERE id = ${id}`,
          );
          const sold = await one(
            `SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
             WHERE i.menu_item_id = ${id} AND o.status != 'cancelled'`,
          );
          assert.equal(stock + sold, initial, `stock + sold of item ${id}`);
        }
        // The restored file serves: the newest order comes back over HTTP.
        const app = createApp({ config: testConfig(), store: restored });
        const res = await app.request("/orders?limit=1");
        assert.equal(res.status, 200);
        const [newest] = await res.json();
        assert.equal(
          newest.id,
          await one("SELECT MAX(id) FROM orders"),
        );
      } finally {
        await restored.close();
      }
    }
  } finally {
    if (!closed) await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup of a missing database fails instead of writing an empty snapshot", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      backupLibsql(`file:${dir}/missing.db`, { dir: `${dir}/b` }),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const pg = postgresTestBackend();

Deno.test({
  name:
    "[postgres] pg_dump under order load restores with pg_restore to a consistent database",
  ignore: pg.skip !== undefined,
  async fn() {
    const src = await pg.open();
    const dst = await pg.open();
    const dir = await Deno.makeTempDir({ prefix: "forkflow-pgdump-" });
    try {
      const initial = 100_000;
      const a = await addItem(src.store, { stock: initial });
      let placed = 0;
      let stop = false;
      const load = async (seed: number) => {
        for (let i = 0; !stop; i++) {
          const p = await src.store.placeOrder({
            items: [{ menuItemId: a, quantity: 1 + ((seed + i) % 3) }],
            customerName: `pg-${seed}-${i}`,
          });
          placed++;
          if (i % 4 === 0) {
            await src.store.setOrderStatus(p.orderId, "cancelled");
          }
        }
      };
      const workers = Array.from({ length: 6 }, (_, s) => load(s));
      while (placed < 100) await new Promise((r) => setTimeout(r, 5));
      const before = placed;
      const dump = await backupPostgres(src.url, { dir });
      const during = placed - before;
      stop = true;
      await Promise.all(workers);
      assert.ok(during > 0, "orders were committed while pg_dump ran");
      assert.match(dump, /forkflow-\d{8}T\d{9}Z\.dump$/);

      const bin = findPgBinDir();
      const out = await new Deno.Command(
        bin ? `${bin}/pg_restore` : "pg_restore",
        {
          args: [
            "--clean",
            "--if-exists",
            "--no-owner",
            `--dbname=${dst.url}`,
            dump,
          ],
          stdin: "null",
        },
      ).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));

      const restored = await openPostgresStore(dst.url);
      try {
        const one = async (q: string) =>
          Number(Object.values((await restored.sql.unsafe(q))[0]!)[0]);
        const orders = await one("SELECT count(*) FROM orders");
        assert.ok(orders >= 100, `${orders} orders`);
        assert.equal(
          await one(
            "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
          ),
          0,
        );
        assert.equal(
          await one("SELECT count(*) FROM events WHERE type = 'order.created'"),
          orders,
        );
        const stock = await one(`SELECT stock FROM menu_items WHERE id = ${a}`);
        const sold = await one(
          `SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
           WHERE i.menu_item_id = ${a} AND o.status <> 'cancelled'`,
        );
        assert.equal(stock + sold, initial);
        // Identity sequences came along: the restored database takes new orders.
        const next = await restored.placeOrder({
          items: [{ menuItemId: a, quantity: 1 }],
        });
        assert.ok(next.orderId > orders);
      } finally {
        await restored.close();
      }
    } finally {
      await src.cleanup();
      await dst.cleanup();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
