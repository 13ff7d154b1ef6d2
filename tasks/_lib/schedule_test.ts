import assert from "node:assert/strict";
import { dueAfter, RAMP_FROM, RAMP_SHARE, rampMsOf } from "./schedule.ts";

Deno.test("dueAfter() without a ramp spaces iterations evenly", () => {
  assert.deepEqual([0, 1, 2, 10].map((k) => dueAfter(k, 0.5, 0)), [
    0,
    0.5,
    1,
    5,
  ]);
});

/** The first `n` due times at 6,000/s with a ramp of `rampMs`, and a counter of those in [from, to). */
function sixThousand(n: number, rampMs: number) {
  const times = Array.from(
    { length: n },
    (_, k) => dueAfter(k, 1000 / 6000, rampMs),
  );
  const offered = (from: number, to: number) =>
    times.filter((t) => t >= from && t < to).length;
  return { times, offered };
}

Deno.test("dueAfter() ramps the rate up over the warm-up, then keeps it", () => {
  const { times, offered } = sixThousand(40_000, 3000);
  for (let k = 1; k < times.length; k++) {
    assert.ok(
      times[k]! > times[k - 1]!,
      `iteration ${k} is due after ${k - 1}`,
    );
  }
  // First 100 ms: about RAMP_FROM of the rate (600/s); last 100 ms of the ramp:
  // almost all of it; after the ramp: exactly the rate.
  assert.ok(
    Math.abs(offered(0, 100) - 6000 * RAMP_FROM / 10) <= 10,
    `${offered(0, 100)}`,
  );
  assert.ok(
    Math.abs(offered(2900, 3000) - 600) <= 10,
    `${offered(2900, 3000)}`,
  );
  assert.equal(offered(3000, 4000), 6000);
  // The ramp offers the average of its first and last rate.
  assert.ok(Math.abs(offered(0, 3000) - 3000 * 6 * (RAMP_FROM + 1) / 2) <= 1);
});

Deno.test("a warm-up ramps over its first half and holds the full rate over the second", () => {
  const warmupMs = 6000;
  assert.equal(rampMsOf(warmupMs), warmupMs * RAMP_SHARE);
  assert.equal(rampMsOf(-1), 0);
  const { offered } = sixThousand(60_000, rampMsOf(warmupMs));
  assert.ok(
    Math.abs(offered(0, 100) - 6000 * RAMP_FROM / 10) <= 10,
    `${offered(0, 100)}`,
  );
  // Every second from the end of the ramp to the measured window: the full rate.
  for (let s = 3; s < 6; s++) {
    assert.equal(offered(s * 1000, (s + 1) * 1000), 6000, `second ${s}`);
  }
});
