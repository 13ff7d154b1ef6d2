/**
 * Reserving a connection on a real PostgreSQL: a reservation the driver drops
 * when a connection closes under it is still answered, a wait has a deadline,
 * and connections that arrive after the deadline go back to the pool.
 */
import assert from "node:assert/strict";
import type { ReservedSql, Sql } from "postgres";
import { UnavailableError } from "../domain/errors.ts";
import { createPool, reserveConnection } from "../db/postgres/pool.ts";
import { postgresTestBackend } from "./_postgres.ts";

const pg = postgresTestBackend();

/** A two-connection pool on a fresh database, both connections reserved. */
function test(
  name: string,
  fn: (pool: Sql, held: ReservedSql[], admin: Sql) => Promise<void>,
) {
  Deno.test({
    name: `[postgres] ${name}`,
    ignore: pg.skip !== undefined,
    async fn() {
      const db = await pg.open();
      const pool = createPool(db.url, { max: 2 });
      const admin = createPool(db.url, { max: 1 });
      try {
        const held = [await pool.reserve(), await pool.reserve()];
        await fn(pool, held, admin);
      } finally {
        await pool.end({ timeout: 1 });
        await admin.end({ timeout: 1 });
        await db.cleanup();
      }
    },
  });
}

const backendPid = async (conn: ReservedSql) =>
  Number((await conn`SELECT pg_backend_pid() AS pid`)[0]!.pid);

test(
  "a reservation waiting while a connection is killed and reconnects is still answered",
  async (pool, held, admin) => {
    const pid = await backendPid(held[1]!);
    const t = performance.now();
    const waiting = reserveConnection(pool, { retryMs: 200, timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 50)); // queued: both connections are taken
    // The pool reconnects the killed connection on behalf of the waiting
    // reservation, and postgres.js 3.4.9 forgets the reservation once connected.
    await admin`SELECT pg_terminate_backend(${pid})`;
    const conn = await waiting;
    const ms = performance.now() - t;
    assert.equal((await conn`SELECT 41 + 1 AS n`)[0]!.n, 42);
    assert.ok(ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
    conn.release();
    held[0]!.release();
  },
);

test(
  "a reservation gives up with a 503 at its deadline, and a late connection goes back to the pool",
  async (pool, held) => {
    const t = performance.now();
    await assert.rejects(
      reserveConnection(pool, { retryMs: 100, timeoutMs: 400 }),
      (e) => e instanceof UnavailableError && e.retryAfterS === 1,
    );
    const ms = performance.now() - t;
    assert.ok(ms >= 390 && ms < 1_500, `gave up after ${ms.toFixed(0)} ms`);
    // The abandoned attempts now receive these connections and must release them.
    for (const conn of held) conn.release();
    const again = await reserveConnection(pool, { timeoutMs: 2_000 });
    const other = await reserveConnection(pool, { timeoutMs: 2_000 });
    assert.equal((await again`SELECT 1 AS one`)[0]!.one, 1);
    assert.equal((await other`SELECT 2 AS two`)[0]!.two, 2);
    again.release();
    other.release();
  },
);
