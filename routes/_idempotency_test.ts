import assert from "node:assert/strict";
import { InFlightError } from "../domain/errors.ts";
import { idemKeyFor } from "../domain/idempotency.ts";
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

Deno.test('InFlight.run() holds "abc" and abc as one key: a quoted duplicate waits for the bare original', async () => {
  const inflight = new InFlight(1000);
  const bare = await idemKeyFor("POST /x", "abc", {});
  const quoted = await idemKeyFor("POST /x", '"abc"', {});
  assert.deepEqual(quoted, bare);
  let release!: () => void;
  const order: string[] = [];
  const first = inflight.run(bare, async () => {
    await new Promise<void>((r) => release = r);
    order.push("bare");
  });
  const second = inflight.run(quoted, () => {
    order.push("quoted");
    return Promise.resolve();
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, [], "the quoted duplicate is waiting");
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ["bare", "quoted"]);
});
