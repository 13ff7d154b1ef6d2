/**
 * The pipelined write transaction shared by every `db/postgres_*.ts` module,
 * with its event log. Pool and error helpers live in `pool.ts`.
 */
import type { PendingQuery, ReservedSql, Row, Sql } from "postgres";
import {
  isConnectionLost,
  isRetryable,
  reserveConnection,
  translatePgError,
} from "./pool.ts";

/** A query of a transaction (rows of any shape). */
export type TxQuery = PendingQuery<Row[]>;

/** The view of one write transaction. */
export interface PgTx {
  /**
   * Tagged-template SQL on the transaction's own connection. Queries run in
   * the order they are started (awaited or `.execute()`d), pipelined when not
   * awaited one by one. Do not await anything but these queries inside a
   * transaction, and do not send more after one failed: rethrow instead.
   */
  readonly sql: ReservedSql;
  /** The transaction's clock: one timestamp keeps its rows consistent. */
  readonly now: Date;
  /**
   * Appends an event to the log in this transaction. Events are inserted just
   * before COMMIT, in the order appended, in the same round trip as COMMIT.
   * With `ifSoldOut`, the event is only kept if that menu item's stock is 0
   * by then (set by a deferred stock update of this transaction).
   */
  event(type: string, data: unknown, opts?: { ifSoldOut?: number }): void;
  /**
   * Sends `query` now and lets the transaction go on without waiting: it is
   * awaited with COMMIT, in the same round trip. If it fails the transaction
   * rolls back and `runTransaction` rejects with what `onError(e)` returns
   * (awaited; it runs after the rollback, outside the transaction).
   */
  defer(query: TxQuery, onError?: (e: unknown) => unknown): void;
}

/** Options of {@link runTransaction}. */
export interface TransactionOptions {
  /** Called after a COMMIT that appended events. */
  onEvents?: () => void;
  /** Attempts on deadlock / serialization failure (default 3). */
  attempts?: number;
}

interface PendingEvent {
  n: number;
  t: string;
  d: unknown;
  sold_out: number | null;
}

interface Deferred {
  query: TxQuery;
  onError?: (e: unknown) => unknown;
}

function flushEvents(conn: ReservedSql, events: PendingEvent[], now: Date) {
  // json, not jsonb: payloads keep their key order; ORDER BY n keeps ids in append order.
  return conn`
    INSERT INTO events (type, data, created_at)
    SELECT e.t, e.d, ${now}
    FROM json_to_recordset(${JSON.stringify(events)}::text::json)
      AS e(n integer, t text, d json, sold_out bigint)
    WHERE e.sold_out IS NULL
       OR (SELECT stock FROM menu_items WHERE id = e.sold_out) = 0
    ORDER BY e.n`.execute();
}

/** The connection died mid-transaction: abandoned, never written to again. */
class Abandoned extends Error {
  constructor(readonly reason: unknown) {
    super("connection lost");
  }
}

/** A deferred statement failed: COMMIT rolled back and the connection is released. */
class RolledBack extends Error {
  constructor(
    readonly reason: unknown,
    readonly onError?: (e: unknown) => unknown,
  ) {
    super("rolled back");
  }
}

/**
 * Runs `fn` in one READ COMMITTED transaction on a reserved connection: BEGIN
 * is pipelined with `fn`'s first queries, and deferred statements, the events
 * and COMMIT go out in one round trip. Retries deadlocks; driver errors
 * become domain errors; `onEvents` runs after a COMMIT that appended events.
 *
 * postgres.js 3.4.9 crashes the process when a query is written to a
 * connection the server already closed (porsager/postgres#1208), which its own
 * `sql.begin` does on ROLLBACK after a lost connection. So a connection lost
 * mid-transaction is abandoned here: no ROLLBACK, no release (the pool
 * reconnects it), just a 503.
 */
export async function runTransaction<T>(
  sql: Sql,
  fn: (tx: PgTx) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1;; attempt++) {
    const conn = await reserveConnection(sql);
    const events: PendingEvent[] = [];
    const deferred: Deferred[] = [];
    const tx: PgTx = {
      sql: conn,
      now: new Date(),
      event: (t, d, o) => {
        events.push({ n: events.length, t, d, sold_out: o?.ifSoldOut ?? null });
      },
      defer: (query, onError) => {
        query.execute().catch(() => {}); // settled with allSettled below
        deferred.push({ query, onError });
      },
    };
    const begin = conn`BEGIN`.execute();
    begin.catch(() => {});
    try {
      const value = await fn(tx);
      await begin;
      await commit(conn, tx, events, deferred);
      conn.release();
      if (events.length > 0) opts.onEvents?.();
      return value;
    } catch (e) {
      if (e instanceof Abandoned) throw translatePgError(e.reason);
      if (e instanceof RolledBack) {
        if (!(isRetryable(e.reason) && attempt < attempts)) {
          throw e.onError
            ? await e.onError(e.reason)
            : translatePgError(e.reason);
        }
      } else {
        if (isConnectionLost(e)) throw translatePgError(e);
        await rollback(conn, deferred);
        if (!(isRetryable(e) && attempt < attempts)) throw translatePgError(e);
      }
    }
  }
}

/** Sends deferred statements, events and COMMIT in one round trip. */
async function commit(
  conn: ReservedSql,
  tx: PgTx,
  events: PendingEvent[],
  deferred: Deferred[],
): Promise<void> {
  const tail: Promise<unknown>[] = deferred.map((d) => d.query);
  if (events.length > 0) tail.push(flushEvents(conn, events, tx.now));
  const done = conn`COMMIT`.execute();
  const settled = await Promise.allSettled([...tail, done]);
  const lost = settled.find((s) =>
    s.status === "rejected" && isConnectionLost(s.reason)
  );
  if (lost) throw new Abandoned((lost as PromiseRejectedResult).reason);
  const failed = settled.findIndex((s) => s.status === "rejected");
  if (failed === -1) {
    const { command } = (settled.at(-1) as PromiseFulfilledResult<
      { command: string }
    >).value;
    if (command === "COMMIT") return;
    conn.release();
    throw new RolledBack(new Error(`COMMIT answered ${command}`));
  }
  // COMMIT of a failed transaction rolls back; the connection is reusable.
  conn.release();
  throw new RolledBack(
    (settled[failed] as PromiseRejectedResult).reason,
    deferred[failed]?.onError,
  );
}

/** Rolls back after `fn` threw, once every pipelined statement has answered. */
async function rollback(conn: ReservedSql, deferred: Deferred[]) {
  const pending = await Promise.allSettled(deferred.map((d) => d.query));
  if (
    pending.some((s) => s.status === "rejected" && isConnectionLost(s.reason))
  ) {
    return; // abandoned: the pool reconnects this connection itself
  }
  try {
    await conn`ROLLBACK`;
    conn.release();
  } catch (e) {
    if (!isConnectionLost(e)) conn.release();
  }
}
