/**
 * Typed domain errors. Each class carries its HTTP status, as Hono's
 * `HTTPException` does; each API surface renders its own body shape from it
 * (routes/_errors.ts).
 */

/** Extra facts about an error, shown to the client as `error.details`. */
export type ErrorDetails = Record<string, unknown>;

/** The statuses a domain error can answer with. */
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 409
  | 412
  | 413
  | 415
  | 422
  | 503;

/** Base class of every error a client may see. */
export class DomainError extends Error {
  override name = "DomainError";
  /** The HTTP status every surface answers this error with. */
  readonly status: ErrorStatus = 400;
  /** Seconds a client should wait before retrying, sent as `Retry-After`. */
  readonly retryAfterS?: number;
  /**
   * @param code machine-readable code, e.g. `out_of_stock`
   * @param message human sentence shown to staff
   * @param details structured facts for clients
   */
  constructor(
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** Request body or parameters do not pass validation (422). */
export class ValidationError extends DomainError {
  override name = "ValidationError";
  override readonly status: ErrorStatus = 422;
}

/** The request itself is unreadable: malformed JSON, bad header (400). */
export class BadRequestError extends DomainError {
  override name = "BadRequestError";
  override readonly status: ErrorStatus = 400;
}

/** The addressed resource does not exist (404). */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  override readonly status: ErrorStatus = 404;
}

/** The request conflicts with current state: sold out, illegal transition (409). */
export class ConflictError extends DomainError {
  override name = "ConflictError";
  override readonly status: ErrorStatus = 409;
}

/** An `If-Match` version is stale (412). */
export class PreconditionFailedError extends DomainError {
  override name = "PreconditionFailedError";
  override readonly status: ErrorStatus = 412;
}

/** The body is larger than the configured limit (413). */
export class PayloadTooLargeError extends DomainError {
  override name = "PayloadTooLargeError";
  override readonly status: ErrorStatus = 413;
}

/** The body is not JSON (415). */
export class UnsupportedMediaTypeError extends DomainError {
  override name = "UnsupportedMediaTypeError";
  override readonly status: ErrorStatus = 415;
}

/** The same request is still being processed; retry after `retryAfterS` (409). */
export class InFlightError extends ConflictError {
  override name = "InFlightError";
  /**
   * @param message human sentence
   * @param retryAfterS seconds the client should wait
   */
  constructor(message: string, override readonly retryAfterS = 1) {
    super("idempotency_key_in_flight", message);
  }
}

/** The database cannot be reached right now (503). */
export class UnavailableError extends DomainError {
  override name = "UnavailableError";
  override readonly status: ErrorStatus = 503;
  /**
   * @param message human sentence
   * @param retryAfterS seconds the client should wait
   */
  constructor(message: string, override readonly retryAfterS = 1) {
    super("service_unavailable", message);
  }
}

/** Missing or wrong credentials (401). */
export class UnauthorizedError extends DomainError {
  override name = "UnauthorizedError";
  override readonly status: ErrorStatus = 401;
}

/** Valid credentials without the needed role (403). */
export class ForbiddenError extends DomainError {
  override name = "ForbiddenError";
  override readonly status: ErrorStatus = 403;
}
