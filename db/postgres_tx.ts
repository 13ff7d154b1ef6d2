/**
 * PostgreSQL plumbing shared by every `db/postgres_*.ts` module: the pool,
 * driver-error translation and the pipelined write transaction with its
 * event log.
 */
import postgres, {
  type PendingQuery,
  type ReservedSql,
  type Row,
  type Sql,
} from "postgres";
import {
  ConflictError,
  UnavailableError,
  ValidationError,
} from "../domain/errors.ts";

/** Pool and timeout settings. */
export interface PgPoolOptions {
  /** Pool size (10–20 recommended; default 16). */
  max?: number;
  /** Seconds to wait for a new connection before failing (default 1.5). */
  connectTimeoutS?: number;
  /** Server-side cap on one statement, in ms (default 10 000). */
  statementTimeoutMs?: number;
}

/** Opens a pool that fails fast while the server is down and reconnects when it is back. */
export function createPool(url: string, opts: PgPoolOptions = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 16,
    connect_timeout: opts.connectTimeoutS ?? 1.5,
    idle_timeout: 60,
    // The driver's default backoff grows to 20 s between reconnects; a
    // restaurant wants the database back within a second of it returning.
    backoff: (retries: number) => Math.min(0.02 * 2 ** retries, 0.5),
    onnotice: () => {},
    types: {
      // bigint ids and counts as JS numbers (ids stay far below 2^53).
      bigint: {
        to: 20,
        from: [20],
        serialize: (v: number | bigint) => String(v),
        parse: (v: string) => Number(v),
      },
    },
    connection: {
      application_name: "forkflow",
      statement_timeout: opts.statementTimeoutMs ?? 10_000,
      idle_in_transaction_session_timeout: 30_000,
    },
  });
}

/** SQLSTATE or driver code of an error, if any. */
export function pgCode(e: unknown): string {
  return String((e as { code?: unknown })?.code ?? "");
}

/** Codes after which the connection is gone (the server closed it, or it never opened). */
const LOST_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

/** Whether the connection that raised `e` is closed or closing. */
export function isConnectionLost(e: unknown): boolean {
  const code = pgCode(e);
  const severity = (e as { severity?: string })?.severity;
  return LOST_CODES.has(code) || code.startsWith("08") ||
    severity === "FATAL" || severity === "PANIC" ||
    e instanceof Deno.errors.ConnectionRefused ||
    e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.TimedOut;
}

/** Whether `e` means "the database cannot serve this now": lost connection, timeout, overload. */
export function isUnavailable(e: unknown): boolean {
  const code = pgCode(e);
  return isConnectionLost(e) || code === "57014" || code === "53300" ||
    code === "55P03" || code === "53400";
}

/** Whether retrying the whole transaction may succeed (serialization failure, deadlock). */
export function isRetryable(e: unknown): boolean {
  const code = pgCode(e);
  return code === "40001" || code === "40P01";
}

/** Whether `e` is a unique violation. */
export function isUniqueViolation(e: unknown): boolean {
  return pgCode(e) === "23505";
}

/** Whether `e` is a CHECK violation (e.g. `stock >= 0`). */
export function isCheckViolation(e: unknown): boolean {
  return pgCode(e) === "23514";
}

/**
 * Turns driver errors into domain errors: unreachable database → 503,
 * constraint violations that slipped past the checks → 409. Domain errors and
 * anything unknown pass through unchanged (unknown ones become a logged 500).
 */
export function translatePgError(e: unknown): unknown {
  if (isUnavailable(e)) {
    return new UnavailableError(
      "The database is not reachable right now, try again",
      1,
    );
  }
  if (isRetryable(e)) {
    return new UnavailableError("The database is busy, try again", 1);
  }
  const code = pgCode(e);
  if (code === "23514" || code === "23505" || code === "23503") {
    const constraint = (e as { constraint_name?: string }).constraint_name;
    return new ConflictError(
      "constraint_violation",
      "The change conflicts with the current data",
      constraint ? { constraint } : {},
    );
  }
  // PostgreSQL text cannot hold NUL (libSQL can): refuse it as bad input, not a 500.
  if (code === "22021" || code === "22P05") {
    return new ValidationError(
      "invalid_text",
      "Text must not contain NUL characters",
    );
  }
  return e;
}

/** Runs a read on the pool, translating driver errors. */
export async function pgRead<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translatePgError(e);
  }
}

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

async function reserve(sql: Sql): Promise<ReservedSql> {
  try {
    return await sql.reserve();
  } catch (e) {
    throw translatePgError(e);
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
    const conn = await reserve(sql);
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
