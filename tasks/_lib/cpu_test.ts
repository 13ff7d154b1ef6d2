import assert from "node:assert/strict";
import {
  canMeasureCpu,
  CpuMeter,
  machineTicks,
  machineUse,
  pidsNamed,
  threadCpuNs,
} from "./cpu.ts";

const burn = (ms: number) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
};

Deno.test({
  name: "CpuMeter counts this process's busy loop and not a sleeping child",
  ignore: !canMeasureCpu(),
  async fn() {
    const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
    try {
      const meter = new CpuMeter([
        { name: "me", pids: [Deno.pid] },
        { name: "sleeper", pids: () => [child.pid] },
        { name: "gone", pids: [2 ** 22 + 7] },
      ]);
      meter.start();
      burn(200);
      meter.stop();
      const [me, sleeper, gone] = meter.use(100);
      assert.ok(me!.seconds >= 0.15 && me!.seconds < 1, `me: ${me!.seconds}`);
      assert.ok(me!.cores > 0.6, `cores ${me!.cores}`);
      // seconds is rounded to the millisecond: 10 µs per order at 100 orders.
      assert.ok(Math.abs(me!.usPerOrder! - me!.seconds * 1e4) <= 10);
      assert.ok(sleeper!.seconds < 0.02, `sleeper: ${sleeper!.seconds}`);
      assert.equal(gone!.seconds, 0);
      assert.equal(meter.use(0)[0]!.usPerOrder, null);
    } finally {
      child.kill();
      await child.status;
    }
  },
});

Deno.test({
  name:
    "threadCpuNs grows with work; pidsNamed finds processes by command name",
  ignore: !canMeasureCpu(),
  async fn() {
    const a = threadCpuNs(Deno.pid);
    burn(50);
    assert.ok(threadCpuNs(Deno.pid) - a >= 30e6);
    const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
    try {
      // Until the child has exec'd, its name is still the parent's.
      const until = Date.now() + 5_000;
      while (!pidsNamed("sleep").includes(child.pid) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(pidsNamed("sleep").includes(child.pid));
      assert.ok(!pidsNamed("no-such-command-here").length);
    } finally {
      child.kill();
      await child.status;
    }
  },
});

Deno.test("machineTicks() reads /proc/stat; machineUse() shares the window out", () => {
  const at = (user: number, idle: number, iowait: number, steal: number) =>
    machineTicks(
      `cpu  ${user} 0 10 ${idle} ${iowait} 0 0 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n`,
    )!;
  assert.deepEqual(at(100, 50, 2, 1), {
    busy: 110,
    idle: 50,
    iowait: 2,
    steal: 1,
  });
  // 200 ticks pass: 140 busy (130 user + system), 40 idle, 15 I/O wait, 5 stolen.
  const use = machineUse(at(100, 50, 2, 1), at(240, 90, 17, 6), 2);
  assert.deepEqual(use, {
    cpus: 2,
    busy: 0.7,
    idle: 0.2,
    iowait: 0.075,
    steal: 0.025,
  });
  assert.equal(machineTicks("intr 1 2 3\n"), null);
  if (canMeasureCpu()) assert.ok(machineTicks()!.busy > 0);
});
