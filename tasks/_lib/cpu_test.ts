import assert from "node:assert/strict";
import { canMeasureCpu, CpuMeter, pidsNamed, threadCpuNs } from "./cpu.ts";

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
