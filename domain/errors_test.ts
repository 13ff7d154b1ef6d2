import assert from "node:assert/strict";
import * as errors from "./errors.ts";
import { FieldErrors } from "./vending_rules.ts";

/** One instance of every domain error class, with the status it must answer. */
const EXPECTED: [errors.DomainError, number][] = [
  [new errors.ValidationError("c", "m"), 422],
  [new errors.BadRequestError("c", "m"), 400],
  [new errors.NotFoundError("c", "m"), 404],
  [new errors.ConflictError("c", "m"), 409],
  [new errors.PreconditionFailedError("c", "m"), 412],
  [new errors.PayloadTooLargeError("c", "m"), 413],
  [new errors.UnsupportedMediaTypeError("c", "m"), 415],
  [new errors.InFlightError("m", 2), 409],
  [new errors.UnavailableError("m", 3), 503],
  [new errors.UnauthorizedError("c", "m"), 401],
  [new errors.ForbiddenError("c", "m"), 403],
  [new FieldErrors({ name: ["required"] }), 422],
];

Deno.test("every domain error carries its HTTP status", () => {
  for (const [e, status] of EXPECTED) assert.equal(e.status, status, e.name);
  const classes = Object.values(errors).filter((c) =>
    typeof c === "function" && c.prototype instanceof errors.DomainError
  );
  assert.equal(classes.length + 1, EXPECTED.length, "one case per class");
});

Deno.test("only errors that ask for a retry carry retryAfterS", () => {
  for (const [e] of EXPECTED) {
    const retry = e instanceof errors.InFlightError ||
      e instanceof errors.UnavailableError;
    assert.equal(e.retryAfterS !== undefined, retry, e.name);
  }
  assert.equal(new errors.InFlightError("m", 2).retryAfterS, 2);
});
