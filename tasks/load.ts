/**
 * Sustained `POST /orders` at a fixed number of connections with a read mix
 * (kitchen event streams, `GET /orders`), optional injected aborts retried
 * with the same Idempotency-Key, and a closing audit against the database.
 *
 *   deno task load [--connections 256] [--duration 10s] [--faults 0.1]
 *                  [--sse 4] [--read-share 0.05] [--stock N] [--url URL | --database-url URL]
 *
 * @module
 */
import { auditMarkdown, newestOrderId } from "./_lib/audit.ts";
import {
  durationFlag,
  fail,
  type Flags,
  numberFlag,
  parseFlags,
  runId,
  stringFlag,
} from "./_lib/cli.ts";
import { KitchenStreams } from "./_lib/kitchen_streams.ts";
import { note, Progress } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  mdTable,
  pct,
  writeReport,
} from "./_lib/report.ts";
import {
  canMeasureCpu,
  CpuMeter,
  type CpuSubject,
  type CpuUse,
  type MachineUse,
  pidsNamed,
} from "./_lib/cpu.ts";
import { openTarget, type Target } from "./_lib/target.ts";
import {
  prepareMenu,
  Workload,
  WORKLOAD_OPTIONS,
  workloadFlags,
  workloadHelp,
} from "./_lib/workload.ts";
import {
  auditWorkload,
  timelineChart,
  workloadMarkdown,
} from "./_lib/workload_report.ts";

const DEFAULTS = { connections: 256, durationMs: 10_000 };
/** A paced run's default warm-up: 3 s of ramp, then 3 s at the full rate (`schedule.ts`). */
const PACED_WARMUP_MS = 6000;
const USAGE = `Usage: deno task load [options]${workloadHelp(DEFAULTS)}
  --rate R            offer R orders/s on a fixed schedule (open loop); latency
                      counts from each order's scheduled start (default: closed
                      loop, every connection sends again once answered)
  --warmup D          traffic before the measured window, audited but not timed
                      (default 3s; 6s with --rate, whose offered rate ramps up
                      from 10% over the first half and holds the full rate for the second)
  --sse N             kitchen event streams kept open on /kitchen/events (default 4)
  --read-share R      share of iterations that read GET /orders instead (default 0.05)`;

type Settings = ReturnType<typeof settingsOf>;

function settingsOf(flags: Flags) {
  return {
    ...workloadFlags(flags, DEFAULTS),
    sse: numberFlag(flags, "sse", 4, { min: 0, max: 1000 }),
    warmupMs: durationFlag(
      flags,
      "warmup",
      flags.rate === undefined ? 3000 : PACED_WARMUP_MS,
    ),
    rate: flags.rate === undefined
      ? undefined
      : numberFlag(flags, "rate", 0, { min: 1, max: 1_000_000 }),
    readShare: numberFlag(flags, "read-share", 0.05, {
      min: 0,
      max: 0.9,
      int: false,
    }),
    token: stringFlag(flags, "token"),
  };
}

/** Places orders for the run's duration with kitchen screens open, then audits. */
async function measure(target: Target, s: Settings, kitchen: KitchenStreams) {
  const tag = `load-${runId()}`;
  const menu = await prepareMenu(target.url, { tag, ...s });
  const before = await newestOrderId(target.url);
  await kitchen.open(target.url, s.sse);
  const meter = cpuMeter(target);
  const w = new Workload({ base: target.url, menu, tag, ...s, window: meter });
  const progress = new Progress(() => w.status());
  await w.run();
  progress.stop();
  const summary = w.summary();
  const cpu = meter?.use(w.count.measured) ?? null;
  const machine = meter?.machine() ?? null;
  note("auditing against GET /orders and GET /menu/{id} …");
  const audit = await auditWorkload(target.url, before, w);
  await kitchen.close(audit.orders.found);
  return { summary, audit, cpu, machine };
}

/** What to account CPU for: the server when this task started it, this client, PostgreSQL when it runs here. */
function cpuMeter(target: Target): CpuMeter | undefined {
  if (!canMeasureCpu()) return undefined;
  const subjects: CpuSubject[] = [];
  const pid = target.server?.pid();
  if (pid !== undefined) subjects.push({ name: "server", pids: [pid] });
  subjects.push({ name: "load client (this task)", pids: [Deno.pid] });
  if (pidsNamed("postgres").length > 0) {
    subjects.push({
      name: "PostgreSQL (every postgres process)",
      pids: () => pidsNamed("postgres"),
    });
  }
  return new CpuMeter(subjects);
}

function cpuSection(cpu: CpuUse[] | null, machine: MachineUse | null): string {
  if (!cpu) return "";
  return [
    "## CPU during the measured window",
    "",
    "From `/proc/<pid>/task/*/schedstat`. Latency on a shared VM swings with the hour; CPU per order moves far less, so compare changes by it.",
    "",
    mdTable(
      ["process", "CPU s", "cores", "µs per acknowledged order"],
      cpu.map((c) => [
        c.name,
        c.seconds.toFixed(2),
        c.cores.toFixed(2),
        c.usPerOrder === null ? "—" : c.usPerOrder.toFixed(1),
      ]),
    ),
    "",
    ...(machine
      ? [
        `The whole machine (${machine.cpus} CPUs, every process and the kernel, from \`/proc/stat\`): ` +
        `busy ${pct(machine.busy, 1)}, idle ${
          pct(machine.idle, 1)
        }, waiting on I/O ${pct(machine.iowait, 1)}, stolen by the hypervisor ${
          pct(machine.steal, 1)
        }.`,
        "",
      ]
      : []),
  ].join("\n");
}

type Result = Awaited<ReturnType<typeof measure>>;

function describe(s: Settings): string {
  const faults = s.faultRate > 0
    ? `${
      Math.round(s.faultRate * 100)
    }% of orders had their first attempt aborted mid-flight and retried with the same Idempotency-Key.`
    : "No injected faults.";
  const pace = s.rate
    ? `offered ${s.rate} orders/s on a fixed schedule`
    : "each sending again as soon as answered";
  return `${s.connections} connections (${pace}) placed orders for ${
    s.durationMs / 1000
  } s after a ${
    s.warmupMs / 1000
  } s warm-up (one tracked item, stock ${s.stock}, plus untracked items; ` +
    `${
      Math.round(s.readShare * 100)
    }% of iterations read \`GET /orders\` instead). ${faults}`;
}

function kitchenLine(kitchen: KitchenStreams, orders: number): string {
  const seen = `${kitchen.seen.length} streams on /kitchen/events saw ${
    kitchen.seen.join(", ")
  } \`order.created\` events for ${orders} orders of this run`;
  return `Kitchen screens: ${kitchen.skipped ?? seen}.`;
}

function render(
  r: Result,
  ctx: { s: Settings; target: Target; kitchen: KitchenStreams; svg?: string },
): string {
  const command = commandLine("load", Deno.args);
  return [
    header("Sustained order load with a closing audit", {
      passed: r.audit.passed,
      command,
      target: ctx.target.label,
    }),
    describe(ctx.s),
    "",
    "## Throughput and latency",
    "",
    workloadMarkdown(r.summary),
    "",
    kitchenLine(ctx.kitchen, r.audit.orders.found),
    "",
    cpuSection(r.cpu, r.machine),
    ctx.svg ? `![orders per second and p99 latency](${ctx.svg})\n` : "",
    "## Audit",
    "",
    auditMarkdown(r.audit.orders, r.audit.stock),
    "",
  ].join("\n");
}

async function main() {
  const flags = parseFlags(Deno.args, {
    ...WORKLOAD_OPTIONS,
    sse: { type: "string" },
    rate: { type: "string" },
    warmup: { type: "string" },
    "read-share": { type: "string" },
  }, USAGE);
  const s = settingsOf(flags);
  const target = await openTarget(flags);
  const kitchen = new KitchenStreams();
  try {
    note(
      `load: ${s.connections} connections for ${s.durationMs / 1000} s, ` +
        `faults ${s.faultRate}, against ${target.label}`,
    );
    const r = await measure(target, s, kitchen);
    const { token: _, ...settings } = s;
    const data = {
      task: "load",
      settings,
      target: target.label,
      ...r.summary,
      kitchen: { order_created_seen: kitchen.seen, skipped: kitchen.skipped },
      cpu: r.cpu,
      machine_cpu: r.machine,
      server_error_log_lines: target.server?.errorLines() ?? null,
      audit: r.audit,
      passed: r.audit.passed,
    };
    const pg = target.server?.databaseUrl.startsWith("postgres");
    // Paced runs keep their own reports: a closed loop answers another question.
    const name = `load${s.faultRate > 0 ? "-faults" : ""}${
      s.rate ? "-rate" : ""
    }${pg ? "-postgres" : ""}`;
    const files = await writeReport(name, {
      markdown: (svg) => render(r, { s, target, kitchen, svg }),
      data,
      svg: timelineChart(
        `POST /orders, ${s.connections} connections`,
        r.summary.per_second,
      ),
    }, flags.out as string | undefined);
    const { orders, stock, passed } = r.audit;
    const serverCpu = r.cpu?.find((c) => c.name === "server");
    note(
      `report: ${files.markdown}\n${passed ? "PASS" : "FAIL"}: ` +
        `${r.summary.orders_per_s} orders/s, p99 ${r.summary.order_latency_ms.p99} ms, ` +
        `lost ${orders.lost}, duplicated ${orders.duplicated}, stock conserved ${stock.conserved}` +
        (serverCpu ? `, server CPU ${serverCpu.usPerOrder} µs/order` : "") +
        (r.machine ? `, machine busy ${pct(r.machine.busy, 1)}` : ""),
    );
    if (!passed) Deno.exitCode = 1;
  } finally {
    await kitchen.close(0, 0);
    await target.close();
  }
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`load failed: ${e instanceof Error ? e.message : e}`)
  );
}
