/**
 * The PostgreSQL pool and what its errors mean: unreachable (503), retryable
 * (deadlock), constraint violations (409) and text PostgreSQL cannot store.
 */
import postgres, { type ReservedSql, type Sql } from "postgres";
import { splitSocketDir } from "../../domain/database_url.ts";
import {
  ConflictError,
  UnavailableError,
  ValidationError,
} from "../../domain/errors.ts";

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
  const { url: target, socketDir } = splitSocketDir(url);
  return postgres(target, {
    ...(socketDir ? { host: socketDir } : {}),
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
  // A number past its column's type (integer out of range, 22003) or not a
  // number of that type at all (22P02): the stores check ranges first, so
  // this is the last line of defence, a 422 rather than a 500.
  if (code === "22003" || code === "22P02") {
    return new ValidationError(
      "value_out_of_range",
      "A number is outside the range the database can store",
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

/** Waiting for a connection of its own: a fresh request every `retryMs`, a 503 after `timeoutMs`. */
export interface ReserveOptions {
  retryMs?: number;
  timeoutMs?: number;
}

/**
 * Reserves a connection for a transaction.
 *
 * postgres.js 3.4.9 can drop a waiting `reserve()` for good: when a connection
 * closes while a reservation waits (PostgreSQL restarting, or a connection
 * reaching its lifetime under load), the pool hands the reservation to that
 * connection's reconnect, which forgets it once connected. Without a remedy
 * that order, and every order queued behind its batch, is never answered. So
 * while it waits, another request joins every `retryMs` (the first keeps its
 * place in the queue); the first connection to arrive is used, later ones are
 * released at once. Any refusal (database down) answers 503 straight away,
 * and so does a wait longer than `timeoutMs`.
 */
export function reserveConnection(
  sql: Sql,
  { retryMs = 750, timeoutMs = 10_000 }: ReserveOptions = {},
): Promise<ReservedSql> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearInterval(again);
      clearTimeout(deadline);
    };
    const attempt = () => {
      sql.reserve().then((conn) => {
        if (settled) return conn.release();
        settle();
        resolve(conn);
      }, (e) => {
        if (settled) return;
        settle();
        reject(translatePgError(e));
      });
    };
    const again = setInterval(attempt, retryMs);
    const deadline = setTimeout(() => {
      settle();
      reject(
        new UnavailableError(
          "No database connection became free in time, try again",
          1,
        ),
      );
    }, timeoutMs);
    attempt();
  });
}
