/**
 * How a domain error becomes a response. The status and `Retry-After` come
 * from the error itself (domain/errors.ts); each surface supplies only its
 * body shape: native here, Bistro92 in routes/bistro.ts, Laravel in
 * routes/vending.ts.
 */
import type { Context } from "hono";
import type { DomainError } from "../domain/errors.ts";

/** The native error body. */
export function errorBody(
  code: string,
  message: string,
  details: Record<string, unknown> = {},
) {
  return { error: { code, message, details } };
}

/** Answers `e` with its own status (and `Retry-After` when it has one) and `body`. */
export function answerError(
  c: Context,
  e: DomainError,
  body: unknown = errorBody(e.code, e.message, e.details),
): Response {
  if (e.retryAfterS !== undefined) {
    c.header("Retry-After", String(e.retryAfterS));
  }
  return c.json(body, e.status);
}
