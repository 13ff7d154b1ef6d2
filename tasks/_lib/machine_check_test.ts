import assert from "node:assert/strict";
import {
  analyse,
  checkMarkdown,
  checkWindows,
  lateDuring,
  stallsOf,
  TimerProbe,
} from "./machine_check.ts";
import { DiskSamples, TARGET_P99_MS } from "./machine_probe.ts";

const T0 = Date.UTC(2026, 10, 22, 3, 0, 0);
const pairs = (...p: [number, number][]) =>
  Float64Array.from(p.flatMap(([at, ms]) => [T0 + at, ms]));

Deno.test("lateDuring finds the timer's lateness that overlaps a span, and only that", () => {
  // Late wake-ups: 30 ms late at 1000 (covers 970–1000), 4 ms late at 2000.
  const late = [T0 + 1000, 30, T0 + 2000, 4];
  assert.equal(lateDuring(late, T0 + 900, T0 + 980), 30, "overlaps its start");
  assert.equal(lateDuring(late, T0 + 990, T0 + 1500), 30, "overlaps its end");
  assert.equal(lateDuring(late, T0 + 1001, T0 + 1995), 0, "between the two");
  assert.equal(lateDuring(late, T0 + 1500, T0 + 2500), 4);
  assert.equal(lateDuring([], T0, T0 + 1e6), 0);
});

Deno.test("checkWindows judges each window by its time beyond the target; a short run is one window", () => {
  const s = new DiskSamples(
    pairs(
      [1000, 1],
      [3000, TARGET_P99_MS + 150], // 150 ms beyond in the first 10 s: 1.5 %
      [12000, TARGET_P99_MS + 90], // 90 ms beyond in the second: 0.9 %
      [15000, 2],
    ),
    20,
    "/d",
  );
  const w = checkWindows(s, T0, T0 + 20_000, 10_000);
  assert.equal(w.length, 2);
  assert.deepEqual(w.map((x) => x.out_of_reach), [true, false]);
  assert.deepEqual(w.map((x) => x.beyond_target_ms), [150, 90]);
  assert.deepEqual([w[1]!.from_s, w[1]!.to_s], [10, 20]);
  // 25 s in 10 s windows: two windows of 12.5 s, the whole run covered.
  const odd = checkWindows(s, T0, T0 + 25_000, 10_000);
  assert.deepEqual(odd.map((x) => [x.from_s, x.to_s]), [[0, 12.5], [12.5, 25]]);
  const short = checkWindows(s, T0, T0 + 4000, 10_000);
  assert.equal(short.length, 1);
  assert.equal(short[0]!.beyond_target_share, 0.0375);
});

Deno.test("stallsOf lists syncs at or beyond the target, slowest first, with the timer during each", () => {
  const s = new DiskSamples(
    pairs([1000, TARGET_P99_MS - 0.1], [2000, TARGET_P99_MS], [5000, 300]),
    20,
    "/d",
  );
  // The VM paused 280 ms during the second stall; nothing during the first.
  const stalls = stallsOf(s, [T0 + 4990, 280]);
  assert.deepEqual(stalls.map((x) => [x.ms, x.timer_late_ms]), [
    [300, 280],
    [TARGET_P99_MS, 0],
  ]);
  assert.equal(stalls[0]!.at, "2026-11-22T03:00:05.000Z");
});

Deno.test("analyse puts the probes together and passes only when every window was within reach", () => {
  const samples = new DiskSamples(
    pairs([500, 0.5], [1500, 0.4], [2500, 140], [3500, 0.6]),
    20,
    "/probe/here",
  );
  const late = [T0 + 2500, 2, T0 + 3200, 120];
  const c = analyse({
    samples,
    late,
    from: T0,
    to: T0 + 4000,
    windowMs: 2000,
    cpu: { before: 51, after: 53 },
    cache: { before: 30, after: 41.5 },
  });
  assert.equal(c.disk.syncs, 4);
  assert.equal(c.disk.at_least_target, 1);
  assert.equal(c.disk.beyond_target_ms, 90);
  assert.deepEqual(c.windows.map((w) => w.out_of_reach), [false, true]);
  assert.equal(c.windows_out_of_reach, 1);
  assert.equal(c.passed, false);
  assert.equal(c.stalls_total, 1);
  assert.equal(c.stalls_with_timer_on_time, 1, "2 ms late is on time");
  assert.deepEqual(c.per_second.map((p) => p.sync_max_ms), [
    0.5,
    0.4,
    140,
    0.6,
  ]);
  assert.deepEqual(c.per_second.map((p) => p.timer_late_max_ms), [
    0,
    0,
    2,
    120,
  ]);
  const md = checkMarkdown(c, "chart.svg");
  assert.match(
    md,
    /In 1 of 2 windows the disk alone put a durable p99 under 50 ms out of reach/,
  );
  assert.match(
    md,
    /Of the 1 syncs of 50 ms or more, 1 had the main thread's timer late by 10 ms at most/,
  );
  assert.match(md, /\| 03:00:02\.500 \| 140 \| 2 \|/);
  assert.match(md, /!\[[^\]]*\]\(chart\.svg\)/);
  assert.match(md, /30 ns before, 41\.5 ns after/);

  const calm = analyse({
    samples: new DiskSamples(pairs([500, 0.5]), 20, "/d"),
    late: [],
    from: T0,
    to: T0 + 1000,
    windowMs: 10_000,
    cpu: { before: 51, after: 51 },
    cache: { before: 30, after: 30 },
  });
  assert.equal(calm.passed, true);
  assert.match(checkMarkdown(calm), /No sync took 50 ms or more/);
  assert.match(
    checkMarkdown(calm),
    /In every window the disk left a durable p99 under 50 ms within reach/,
  );
});

Deno.test("TimerProbe records late wake-ups as (end, ms late) pairs", async () => {
  const t = new TimerProbe(5);
  t.start();
  await new Promise((r) => setTimeout(r, 20));
  // Block the event loop: the next wake-up comes about 60 ms late.
  const until = performance.now() + 60;
  while (performance.now() < until) { /* busy */ }
  await new Promise((r) => setTimeout(r, 20));
  t.stop();
  assert.equal(t.late.length % 2, 0);
  let most = 0;
  for (let i = 1; i < t.late.length; i += 2) most = Math.max(most, t.late[i]!);
  assert.ok(most >= 50, `the busy 60 ms showed as ${most} ms late`);
});
