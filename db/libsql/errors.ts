/**
 * libSQL driver errors as domain errors, the counterpart of
 * `translatePgError`: the stores check every number against its documented
 * range first, so these are the last line of defence, and no driver message
 * reaches a client as a 500.
 */
import {
  ConflictError,
  DomainError,
  ValidationError,
} from "../../domain/errors.ts";

/** The constraints PostgreSQL's 23514, 23505 and 23503 name (a trigger's RAISE is left alone). */
const CONSTRAINTS = new Set([
  "SQLITE_CONSTRAINT_CHECK",
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
  "SQLITE_CONSTRAINT_FOREIGNKEY",
]);

const code = (e: unknown) => String((e as { code?: unknown })?.code ?? "");
const message = (e: unknown) => String((e as Error)?.message ?? "");

/**
 * Whether `e` says a number did not fit: SQLite's `integer overflow` (e.g.
 * `sum()`, `abs()`), `SQLITE_TOOBIG`, or the binding's `RangeError` for an
 * integer beyond 64 bits or a read beyond 2^53.
 */
export function isLibsqlOutOfRange(e: unknown): boolean {
  if (code(e) === "SQLITE_TOOBIG") return true;
  if (/integer overflow/i.test(message(e))) return true;
  return e instanceof RangeError &&
    /precision|too large|out of range|64-bit/i.test(message(e));
}

/**
 * Turns a libSQL driver error into a domain error: a number out of range →
 * 422, a constraint that slipped past the checks → 409 (as PostgreSQL's
 * 23xxx are). Domain errors and anything unknown pass through unchanged.
 */
export function translateLibsqlError(e: unknown): unknown {
  if (e instanceof DomainError) return e;
  if (isLibsqlOutOfRange(e)) {
    return new ValidationError(
      "value_out_of_range",
      "A number is outside the range the database can store",
    );
  }
  if (CONSTRAINTS.has(code(e))) {
    return new ConflictError(
      "constraint_violation",
      "The change conflicts with the current data",
    );
  }
  return e;
}
