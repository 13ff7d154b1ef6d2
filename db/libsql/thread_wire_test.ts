/** Errors and batches crossing to and from the libSQL database thread. */
import assert from "node:assert/strict";
import {
  ConflictError,
  InFlightError,
  UnavailableError,
  ValidationError,
} from "../../domain/errors.ts";
import { FieldErrors } from "../../domain/vending_rules.ts";
import { Outbox, packError, unpackError } from "./thread_wire.ts";

const roundTrip = (e: unknown) => unpackError(structuredClone(packError(e)));

Deno.test("domain errors keep their class, code, details and extra fields across threads", () => {
  const out = roundTrip(
    new ConflictError("out_of_stock", "Soup is sold out", { left: 0 }),
  );
  assert.ok(out instanceof ConflictError);
  assert.equal(out.message, "Soup is sold out");
  assert.equal((out as ConflictError).code, "out_of_stock");
  assert.deepEqual((out as ConflictError).details, { left: 0 });

  const busy = roundTrip(new UnavailableError("busy", 3));
  assert.ok(busy instanceof UnavailableError);
  assert.equal((busy as UnavailableError).retryAfterS, 3);

  const inflight = roundTrip(new InFlightError("wait"));
  assert.ok(inflight instanceof InFlightError);
  assert.ok(inflight instanceof ConflictError);

  const fields = roundTrip(
    new FieldErrors({ name: ["The name is required."] }),
  );
  assert.ok(fields instanceof FieldErrors && fields instanceof ValidationError);
  assert.deepEqual((fields as FieldErrors).fields, {
    name: ["The name is required."],
  });
});

Deno.test("other errors arrive as plain errors with their message", () => {
  const out = roundTrip(new TypeError("no such column: x"));
  assert.ok(!(out instanceof ConflictError));
  assert.equal(out.name, "TypeError");
  assert.equal(out.message, "no such column: x");
  assert.equal(roundTrip("text thrown").message, "text thrown");
});

Deno.test("Outbox posts everything pushed in one burst of microtasks as one batch", async () => {
  const batches: number[][] = [];
  const box = new Outbox<number>((items) => batches.push(items));
  box.push(1);
  await Promise.resolve();
  box.push(2);
  await Promise.resolve().then(() => box.push(3));
  await new Promise((r) => setTimeout(r, 0));
  box.push(4);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(batches, [[1, 2, 3], [4]]);
});

Deno.test("Outbox holds a batch for the end of the turn while told to", async () => {
  const batches: number[][] = [];
  let hold = true;
  const box = new Outbox<number>((items) => batches.push(items), () => hold);
  // Two pushes far apart in microtasks: settling would send them separately.
  box.push(1);
  for (let i = 0; i < 20; i++) await Promise.resolve();
  box.push(2);
  assert.equal(box.size, 2);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches, [[1, 2]]);
  assert.equal(box.size, 0);
  hold = false;
  box.push(3);
  for (let i = 0; i < 20; i++) await Promise.resolve();
  box.push(4);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches, [[1, 2], [3], [4]]);
});

Deno.test("status and retryAfterS survive the libSQL thread's error wire", () => {
  const cases: [Error & { status: number; retryAfterS?: number }, number][] = [
    [new ValidationError("c", "m"), 422],
    [new ConflictError("c", "m"), 409],
    [new InFlightError("m", 2), 409],
    [new UnavailableError("m", 3), 503],
    [new FieldErrors({ name: ["required"] }), 422],
  ];
  for (const [e, status] of cases) {
    const back = roundTrip(e) as typeof e;
    assert.equal(back.status, status, e.name);
    assert.equal(back.retryAfterS, e.retryAfterS, e.name);
  }
});
