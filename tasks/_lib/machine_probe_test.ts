import assert from "node:assert/strict";
import {
  cacheReferenceNs,
  cpuReferenceMs,
  DiskProbe,
  DiskSamples,
  machineMarkdown,
  machineNote,
  MachineProbes,
  type MachineReport,
  SLOW_SYNC_MS,
  TARGET_P99_MS,
} from "./machine_probe.ts";

const pairs = (...p: [number, number][]) => Float64Array.from(p.flat());

Deno.test("DiskSamples summarises the syncs that ended inside the window only", () => {
  const s = new DiskSamples(
    pairs(
      [999, 500], // before the window
      [1000, 1],
      [1500, 2],
      [1999, SLOW_SYNC_MS],
      [2500, 3],
      [3000, 700], // at the end: outside
    ),
    20,
    "/some/dir",
  );
  assert.equal(s.length, 6);
  assert.deepEqual(s.summary(1000, 3000), {
    dir: "/some/dir",
    every_ms: 20,
    syncs: 4,
    p50_ms: 2,
    p99_ms: SLOW_SYNC_MS,
    max_ms: SLOW_SYNC_MS,
    slow: 1,
    beyond_target_ms: 0,
    beyond_target_share: 0,
  });
  assert.equal(s.summary(5000, 6000).syncs, 0);
  assert.equal(s.summary(5000, 6000).max_ms, 0);
});

Deno.test("DiskSamples sums each sync's time beyond the target, as time and as a share of the window", () => {
  const s = new DiskSamples(
    pairs(
      [1000, TARGET_P99_MS - 1], // under: nothing
      [1200, TARGET_P99_MS], // at: nothing
      [3000, TARGET_P99_MS + 30.5],
      [7000, TARGET_P99_MS + 80],
      [11000, 900], // after the window
    ),
    20,
    "/d",
  );
  const w = s.summary(1000, 11000);
  assert.equal(w.beyond_target_ms, 110.5);
  assert.equal(w.beyond_target_share, 0.01105);
  // An empty window has nothing beyond and no share.
  assert.equal(s.summary(20000, 20000).beyond_target_share, 0);
});

Deno.test("The report says when the disk alone put the p99 target out of reach", () => {
  const report = (beyond: number): MachineReport => ({
    cpu_reference_ms: { before: 51, after: 52 },
    cache_reference_ns: { before: 30.5, after: 61 },
    disk: {
      dir: "/d",
      every_ms: 20,
      syncs: 500,
      p50_ms: 0.4,
      p99_ms: 30,
      max_ms: 180,
      slow: 3,
      beyond_target_ms: beyond,
      beyond_target_share: beyond / 10_000,
    },
    disk_per_second_max: [],
  });
  assert.match(
    machineMarkdown(report(130)),
    /130 ms, 1\.30 % of the window: over 1 %, so no durable store/,
  );
  assert.match(
    machineMarkdown(report(90)),
    /90 ms, 0\.90 % of the window: under 1 %/,
  );
  assert.match(
    machineNote(report(130)),
    /max 180 ms; beyond 50 ms for 1\.30 % of the window\)/,
  );
});

Deno.test("DiskSamples gives the slowest sync of each second, null where none ended", () => {
  const s = new DiskSamples(
    pairs(
      [900, 50], // before t0
      [1000, 1],
      [1400, 7],
      [1999.9, 2], // still second 0
      [2100, 1.234],
      [3500, 4],
      [5000, 60], // after the last second
    ),
    20,
    "/d",
  );
  assert.deepEqual(s.perSecondMax(1000, 4), [7, 1.23, 4, null]);
});

Deno.test("DiskProbe syncs a file of its own on a thread and removes it on stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk-probe-test-" });
  try {
    const from = performance.timeOrigin + performance.now();
    const probe = await DiskProbe.start(dir, 5);
    assert.equal([...Deno.readDirSync(dir)].length, 1);
    await new Promise((r) => setTimeout(r, 300));
    const samples = await probe.stop();
    const to = performance.timeOrigin + performance.now();
    // One sync can take hundreds of ms on a busy disk: ask for one at least.
    assert.ok(samples.length >= 1, "no sync in 300 ms");
    assert.ok(samples.length <= Math.ceil((to - from) / 5) + 1);
    let last = from;
    for (let i = 0; i < samples.pairs.length; i += 2) {
      const [end, ms] = [samples.pairs[i]!, samples.pairs[i + 1]!];
      assert.ok(end >= last && end <= to, "end times in order, inside the run");
      assert.ok(ms >= 0 && ms <= end - from, "a duration the run can hold");
      last = end;
    }
    assert.equal(samples.summary(from, to).syncs, samples.length);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "the probe file is gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskProbe tells a listener of each sync as it ends, the same syncs it hands over", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk-probe-live-" });
  try {
    const heard: number[] = [];
    const probe = await DiskProbe.start(
      dir,
      5,
      (end, ms) => heard.push(end, ms),
    );
    await new Promise((r) => setTimeout(r, 200));
    const samples = await probe.stop();
    assert.ok(heard.length >= 2, "heard of one sync at least");
    // The worker's messages arrive in order: every sync is heard before stop() ends.
    assert.deepEqual(heard, [...samples.pairs]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskProbe refuses a folder it cannot write, saying which", async () => {
  await assert.rejects(
    DiskProbe.start("/nonexistent/forkflow-probe"),
    /disk probe in \/nonexistent\/forkflow-probe: .*No such file/i,
  );
});

Deno.test("cacheReferenceNs times a pointer chase: a bigger working set is no faster", () => {
  const small = cacheReferenceNs(0.0625, 3, 200_000); // 64 KiB: L1/L2
  const big = cacheReferenceNs(64, 3, 200_000); // 64 MiB: past the L3
  assert.ok(small > 0 && Number.isFinite(small));
  assert.ok(big > small, `64 MiB ${big} ns against 64 KiB ${small} ns`);
});

Deno.test("cpuReferenceMs times a loop", () => {
  const ms = cpuReferenceMs(2, 1_000_000);
  assert.ok(Number.isFinite(ms) && ms > 0 && ms < 5_000, `${ms}`);
});

Deno.test("MachineProbes without a folder skips the disk and says why", async () => {
  const probes = await MachineProbes.start(undefined);
  const calls: string[] = [];
  const w = probes.window({
    start: () => calls.push("start"),
    stop: () => calls.push("stop"),
  });
  w.start();
  w.stop();
  assert.deepEqual(calls, ["start", "stop"]);
  const m = await probes.stop(performance.now(), 3);
  assert.equal(m.disk, null);
  assert.match(m.disk_skipped!, /not known/);
  assert.deepEqual(m.disk_per_second_max, []);
  assert.match(machineMarkdown(m), /not probed: the database's folder/);
  assert.doesNotMatch(machineNote(m), /disk/);
});

Deno.test("MachineProbes summarises the disk over the measured window", async () => {
  const dir = await Deno.makeTempDir({ prefix: "machine-probes-test-" });
  try {
    const t0 = performance.now();
    const probes = await MachineProbes.start(dir);
    const w = probes.window();
    await new Promise((r) => setTimeout(r, 100));
    const from = performance.now();
    w.start();
    await new Promise((r) => setTimeout(r, 500));
    w.stop();
    const to = performance.now();
    await new Promise((r) => setTimeout(r, 100));
    const m = await probes.stop(t0, 4);
    assert.ok(m.disk, m.disk_skipped ?? "no disk figures");
    // One sync per 20 ms at most; a busy disk can make them far fewer.
    const most = Math.ceil((to - from) / 20) + 1;
    assert.ok(m.disk.syncs >= 1 && m.disk.syncs <= most, `${m.disk.syncs}`);
    assert.equal(m.disk_per_second_max.length, 4);
    const perSecond = m.disk_per_second_max.map((v) => v ?? 0);
    assert.ok(Math.max(...perSecond) >= m.disk.max_ms);
    assert.match(machineMarkdown(m), /syncs \(4 KiB write/);
    assert.match(
      machineNote(m),
      /disk syncs ≥ 20 ms: \d+ \(max [\d.]+ ms; beyond 50 ms for [\d.]+ % of the window\)/,
    );
    assert.match(
      machineMarkdown(m),
      /time in which no write could be durable within 50 ms/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
