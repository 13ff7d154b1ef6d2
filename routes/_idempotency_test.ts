import assert from "node:assert/strict";
import { InFlightError } from "../domain/errors.ts";
import { InFlight } from "./_idempotency.ts";

const key = (k: string) => ({ scope: "POST /x", key: k, fingerprint: "f" });

Deno.test("InFlight.run() makes a duplicate wait for the original, then run", async () => {
  const inflight = new InFlight(1000);
  const order: string[] = [];
  let release!: () => void;
  const first = inflight.run(key("a"), async () => {
    order.push("first:start");
    await new Promise<void>((r) => release = r);
    order.push("first:end");
    return 1;
  });
  const second = inflight.run(key("a"), () => {
    order.push("second");
    return Promise.resolve(2);
  });
  const other = await inflight.run(key("b"), () => Promise.resolve(3));
  assert.equal(other, 3, "other keys do not wait");
  release();
  assert.deepEqual(await Promise.all([first, second]), [1, 2]);
  assert.deepEqual(order, ["first:start", "first:end", "second"]);
});

Deno.test("InFlight.run() answers 409 with Retry-After when the original outlasts the wait", async () => {
  const inflight = new InFlight(20);
  let release!: () => void;
  const first = inflight.run(
    key("a"),
    () => new Promise<void>((r) => release = r),
  );
  await assert.rejects(
    inflight.run(key("a"), () => Promise.resolve()),
    (e: unknown) => e instanceof InFlightError && e.retryAfterS === 1,
  );
  release();
  await first;
});
