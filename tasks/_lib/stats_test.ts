import assert from "node:assert/strict";
import { percentile, summarize } from "./stats.ts";
import { niceScale } from "./svg.ts";

Deno.test("percentile() uses the nearest rank", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), 0);
});

Deno.test("summarize() sorts its input and reports the tail", () => {
  const s = summarize([5, 1, 4, 2, 3]);
  assert.deepEqual(s, { count: 5, mean: 3, p50: 3, p95: 5, p99: 5, max: 5 });
});

Deno.test("niceScale() rounds an axis up to a round step", () => {
  assert.deepEqual(niceScale(87), { top: 100, step: 20 });
  assert.deepEqual(niceScale(1234), { top: 1250, step: 250 });
  assert.deepEqual(niceScale(0), { top: 1, step: 0.2 });
});
