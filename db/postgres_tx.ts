/**
 * PostgreSQL plumbing shared by every `db/postgres_*.ts` module: the pool,
 * driver-error translation and the write transaction with its event log.
 */
import postgres, { type Sql, type TransactionSql } from "postgres";
import { ConflictError, UnavailableError } from "../domain/errors.ts";

/** The NOTIFY channel that tells other instances new events were committed. */
export const EVENTS_CHANNEL = "forkflow_events";

/**
 * Key of the advisory lock taken right before events are inserted and held
 * until COMMIT. Identity values are handed out at INSERT time, so without it a
 * transaction that got id 10 could commit after one that got id 11, and a
 * reader that already moved past 11 would never replay 10. NOTIFY serialises
 * these commits anyway (it holds a database-wide lock through COMMIT).
 */
const EVENTS_LOCK = 0x466c6f77; // "Flow"

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

const CONNECTION_CODES = new Set([
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
  "57P03", // cannot_connect_now (starting up, shutting down)
  "57014", // query_canceled: statement_timeout
  "53300", // too_many_connections
  "55P03", // lock_not_available
]);

/** SQLSTATE or driver code of an error, if any. */
export function pgCode(e: unknown): string {
  return String((e as { code?: unknown })?.code ?? "");
}

/** Whether `e` says the database cannot be reached or is going away. */
export function isConnectionError(e: unknown): boolean {
  const code = pgCode(e);
  if (CONNECTION_CODES.has(code) || code.startsWith("08")) return true;
  return e instanceof Deno.errors.ConnectionRefused ||
    e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.TimedOut;
}

/** Whether retrying the whole transaction may succeed (serialization failure, deadlock). */
export function isRetryable(e: unknown): boolean {
  const code = pgCode(e);
  return code === "40001" || code === "40P01";
}

/** Whether `e` is a unique violation (optionally on one constraint/index). */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  if (pgCode(e) !== "23505") return false;
  return constraint === undefined ||
    (e as { constraint_name?: string }).constraint_name === constraint;
}

/**
 * Turns driver errors into domain errors: unreachable database → 503,
 * constraint violations that slipped past the checks → 409. Domain errors and
 * anything unknown pass through unchanged (unknown ones become a logged 500).
 */
export function translatePgError(e: unknown): unknown {
  if (isConnectionError(e)) {
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
  return e;
}

/** Runs a read, translating driver errors. */
export async function pgRead<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translatePgError(e);
  }
}

/** The view of one write transaction. */
export interface PgTx {
  /** Tagged-template SQL on the transaction's connection. */
  readonly sql: TransactionSql;
  /** The transaction's clock: one timestamp keeps its rows consistent. */
  readonly now: Date;
  /**
   * Appends an event to the log in this transaction. Events are inserted (and
   * `NOTIFY` sent) just before COMMIT, in the order appended, so ids follow
   * commit order across every instance.
   */
  event(type: string, data: unknown): Promise<void>;
}

/** Options of {@link runTransaction}. */
export interface TransactionOptions {
  /** Called after a COMMIT that appended events. */
  onEvents?: () => void;
  /** Tag sent with NOTIFY so an instance can ignore its own notifications. */
  origin?: string;
  /** Attempts on deadlock / serialization failure (default 3). */
  attempts?: number;
}

async function flushEvents(
  tx: TransactionSql,
  events: { t: string; d: unknown }[],
  now: Date,
  origin: string,
): Promise<void> {
  await tx`
    WITH lock AS (SELECT pg_advisory_xact_lock(${EVENTS_LOCK})),
    ins AS (
      INSERT INTO events (type, data, created_at)
      SELECT e.value->>'t', e.value->'d', ${now}
      FROM lock, json_array_elements(${JSON.stringify(events)}::text::json)
        WITH ORDINALITY AS e(value, n)
      ORDER BY e.n
      RETURNING id)
    SELECT pg_notify(${EVENTS_CHANNEL}, ${origin} || ':' || max(id)) FROM ins`;
}

/**
 * Runs `fn` in one transaction (READ COMMITTED) with an event appender; retries
 * on deadlock, translates driver errors, and calls `onEvents` after a commit
 * that appended events.
 */
export async function runTransaction<T>(
  sql: Sql,
  fn: (tx: PgTx) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1;; attempt++) {
    let appended = 0;
    try {
      const value = await sql.begin(async (raw) => {
        const events: { t: string; d: unknown }[] = [];
        const now = new Date();
        const tx: PgTx = {
          sql: raw,
          now,
          event: (t, d) => {
            events.push({ t, d });
            return Promise.resolve();
          },
        };
        const out = await fn(tx);
        if (events.length) {
          await flushEvents(raw, events, now, opts.origin ?? "");
        }
        appended = events.length;
        return out;
      });
      if (appended > 0) opts.onEvents?.();
      return value as T;
    } catch (e) {
      if (isRetryable(e) && attempt < attempts) continue;
      throw translatePgError(e);
    }
  }
}
