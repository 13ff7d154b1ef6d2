/**
 * `deno task machine-check`: can this machine's disk hold a durable p99
 * under 50 ms? Before trusting (or blaming) a `load` run, probe the disk the
 * database would use, with nothing else running: a 4 KiB write and
 * `fdatasync` every 20 ms on a thread of its own, a 5 ms timer on the main
 * thread (a disk stall with the timer on time is the disk's, not the VM's),
 * and the CPU reference loop before and after. Writes
 * `reports/machine-check-*.{md,json,svg}`; exits 0 when every window left the
 * target within reach, 3 when the disk alone put it out of reach in one.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { durationFlag, fail, type Flags, numberFlag } from "./_lib/cli.ts";
import { analyse, checkMarkdown, TimerProbe } from "./_lib/machine_check.ts";
import {
  cacheReferenceNs,
  cpuReferenceMs,
  DiskProbe,
  percent,
  SLOW_SYNC_MS,
  TARGET_P99_MS,
} from "./_lib/machine_probe.ts";
import { Progress } from "./_lib/progress.ts";
import { commandLine, header, writeReport } from "./_lib/report.ts";
import { REPO_ROOT } from "./_lib/server.ts";
import { chart } from "./_lib/svg.ts";

const USAGE = `Usage: deno task machine-check [options]
  --duration D   how long to probe: 60, 60s, 2m, 500ms (default 60s)
  --window D     the windows judged one by one, as long as a load run's
                 measured window (default 10s)
  --every MS     milliseconds between the starts of two syncs (default 20)
  --dir DIR      folder to probe, on the database's filesystem (default: a new
                 temporary folder, where \`deno task load\` puts its database)
  --out DIR      where reports go (default: reports/)
  -h, --help     this text`;

function flags(args: string[]): Flags {
  try {
    const { values } = parseArgs({
      args,
      options: {
        duration: { type: "string" },
        window: { type: "string" },
        every: { type: "string" },
        dir: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    return values as Flags;
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`);
  }
}

async function main(args: string[]) {
  const f = flags(args);
  const durationMs = durationFlag(f, "duration", 60_000);
  const windowMs = durationFlag(f, "window", 10_000);
  const everyMs = numberFlag(f, "every", 20, { min: 1, max: 1000 });
  const given = typeof f.dir === "string" ? f.dir : undefined;
  const dir = given ?? await Deno.makeTempDir({ prefix: "forkflow-check-" });
  try {
    const before = cpuReferenceMs();
    const cacheBefore = cacheReferenceNs();
    let syncs = 0, slow = 0, atTarget = 0, max = 0;
    const probe = await DiskProbe.start(dir, everyMs, (_end, ms) => {
      syncs++;
      if (ms >= SLOW_SYNC_MS) slow++;
      if (ms >= TARGET_P99_MS) atTarget++;
      max = Math.max(max, ms);
    }).catch((e) => fail(`machine-check: ${(e as Error).message}`));
    const timer = new TimerProbe();
    timer.start();
    const from = performance.timeOrigin + performance.now();
    const progress = new Progress(() =>
      `syncs ${syncs}  ≥ ${SLOW_SYNC_MS} ms: ${slow}  ≥ ${TARGET_P99_MS} ms: ${atTarget}  slowest ${
        max.toFixed(1)
      } ms`
    );
    await new Promise((r) => setTimeout(r, durationMs));
    const to = performance.timeOrigin + performance.now();
    const samples = await probe.stop();
    timer.stop();
    progress.stop();
    const check = analyse({
      samples,
      late: timer.late,
      from,
      to,
      windowMs,
      cpu: { before, after: cpuReferenceMs() },
      cache: { before: cacheBefore, after: cacheReferenceNs() },
    });
    const command = commandLine("machine-check", args);
    const svg = chart({
      title: "Disk syncs and main-thread timer, per second",
      xLabels: check.per_second.map((s) => String(s.second)),
      xTitle: "second of the run",
      leftTitle: "ms",
      series: [
        {
          name: "slowest sync ms",
          values: check.per_second.map((s) => s.sync_max_ms),
          kind: "bar",
        },
        {
          name: "timer late, most ms",
          values: check.per_second.map((s) => s.timer_late_max_ms),
        },
      ],
    });
    const files = await writeReport("machine-check", {
      data: { task: "machine-check", command, ...check },
      svg,
      markdown: (svgFile) =>
        header("Machine check: can this disk hold a durable p99 under 50 ms?", {
          passed: check.passed,
          command,
          target: `the folder ${dir}`,
          alone: true,
        }) + "\n" + checkMarkdown(check, svgFile),
    }, typeof f.out === "string" ? f.out : join(REPO_ROOT, "reports"));
    console.error(`report: ${files.markdown}`);
    const d = check.disk;
    console.log(
      `${
        check.passed ? "PASS" : "FAIL"
      }: ${d.syncs} syncs, p99 ${d.p99_ms} ms, max ${d.max_ms} ms; ` +
        `no write could be durable within ${TARGET_P99_MS} ms for ${
          percent(d.beyond_target_share)
        } of the run; target out of reach in ${check.windows_out_of_reach} of ${check.windows.length} windows; ` +
        (check.stalls_total === 0
          ? `no sync of ${TARGET_P99_MS} ms or more; `
          : `${check.stalls_with_timer_on_time} of ${check.stalls_total} syncs ≥ ${TARGET_P99_MS} ms with the CPU running; `) +
        `CPU loop ${check.cpu_reference_ms.before}/${check.cpu_reference_ms.after} ms, ` +
        `cache ${check.cache_reference_ns.before}/${check.cache_reference_ns.after} ns`,
    );
    return check.passed ? 0 : 3;
  } finally {
    if (!given) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
