/** Typed domain errors; `app.ts` maps each class to its HTTP status once. */

/** Extra facts about an error, shown to the client as `error.details`. */
export type ErrorDetails = Record<string, unknown>;

/** Base class of every error a client may see. */
export class DomainError extends Error {
  override name = "DomainError";
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
}

/** The request itself is unreadable: malformed JSON, bad header (400). */
export class BadRequestError extends DomainError {
  override name = "BadRequestError";
}

/** The addressed resource does not exist (404). */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
}

/** The request conflicts with current state: sold out, illegal transition (409). */
export class ConflictError extends DomainError {
  override name = "ConflictError";
}

/** An `If-Match` version is stale (412). */
export class PreconditionFailedError extends DomainError {
  override name = "PreconditionFailedError";
}

/** The body is larger than the configured limit (413). */
export class PayloadTooLargeError extends DomainError {
  override name = "PayloadTooLargeError";
}

/** The body is not JSON (415). */
export class UnsupportedMediaTypeError extends DomainError {
  override name = "UnsupportedMediaTypeError";
}

/** The same request is still being processed; retry after `retryAfterS` (409). */
export class InFlightError extends ConflictError {
  override name = "InFlightError";
  /**
   * @param message human sentence
   * @param retryAfterS seconds the client should wait
   */
  constructor(message: string, readonly retryAfterS = 1) {
    super("idempotency_key_in_flight", message);
  }
}

/** The database cannot be reached right now (503). */
export class UnavailableError extends DomainError {
  override name = "UnavailableError";
  /**
   * @param message human sentence
   * @param retryAfterS seconds the client should wait
   */
  constructor(message: string, readonly retryAfterS = 1) {
    super("service_unavailable", message);
  }
}

/** Missing or wrong credentials (401). */
export class UnauthorizedError extends DomainError {
  override name = "UnauthorizedError";
}

/** Valid credentials without the needed role (403). */
export class ForbiddenError extends DomainError {
  override name = "ForbiddenError";
}
