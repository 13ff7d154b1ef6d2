/**
 * Crash test: places orders against a child server, SIGKILLs it several
 * times under load, restarts it on the same database and port, and audits:
 * every order acknowledged before a kill exists exactly once afterwards,
 * retries of unanswered requests (same Idempotency-Key) never double, stock
 * is conserved.
 *
 *   deno task crash-test [--kills 5] [--duration 20s] [--connections 32]
 *                        [--database-url pg|postgres://…|file:…]
 *
 * @module
 */
import { auditMarkdown, newestOrderId } from "./_lib/audit.ts";
import {
  fail,
  type Flags,
  numberFlag,
  parseFlags,
  runId,
  sleep,
  stringFlag,
} from "./_lib/cli.ts";
import { note, Progress } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  mdTable,
  ms,
  writeReport,
} from "./_lib/report.ts";
import { childLabel, type ChildServer, startServer } from "./_lib/server.ts";
import { openDatabase } from "./_lib/target.ts";
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

const DEFAULTS = { connections: 32, durationMs: 20_000 };
const USAGE = `Usage: deno task crash-test [options]
  --kills N           SIGKILLs of the server during the run (default 5)
  --down-ms MS        how long the server stays dead before the restart (default 200)${
  workloadHelp(DEFAULTS)
}
  (--url is not accepted: the task must own the server it kills)`;

/** What happened at one kill. */
interface Kill {
  n: number;
  at_s: number;
  /** Orders acknowledged before the SIGKILL. */
  acked_before: number;
  /** Orders whose request was unanswered when the server died. */
  in_flight: number;
  kill_ms: number;
  restart_ms: number;
  /** Of `acked_before`, how many the audit found in the database. */
  present_after?: number;
}

/** Kills and restarts `server` `kills` times, evenly spread with jitter over `durationMs`. */
async function killLoop(
  server: ChildServer,
  w: Workload,
  opts: { kills: number; durationMs: number; downMs: number },
): Promise<Kill[]> {
  const t0 = performance.now();
  const out: Kill[] = [];
  const gap = opts.durationMs / (opts.kills + 1);
  for (let n = 1; n <= opts.kills; n++) {
    const due = t0 + gap * n + (Math.random() - 0.5) * gap * 0.4;
    await sleep(Math.max(0, due - performance.now()));
    const k: Kill = {
      n,
      at_s: Math.round((performance.now() - t0) / 100) / 10,
      acked_before: w.count.acked,
      in_flight: w.count.inflight,
      kill_ms: await server.kill(),
      restart_ms: 0,
    };
    note(
      `kill ${n}: SIGKILL at ${k.at_s} s with ${k.acked_before} acknowledged, ${k.in_flight} in flight`,
    );
    await sleep(opts.downMs);
    k.restart_ms = await server.restart();
    out.push(k);
  }
  return out;
}

type Settings = ReturnType<typeof settingsOf>;

function settingsOf(flags: Flags) {
  if (stringFlag(flags, "url")) {
    fail(
      "crash-test starts and kills its own server; use --database-url, not --url",
    );
  }
  return {
    kills: numberFlag(flags, "kills", 5, { min: 0, max: 100 }),
    downMs: numberFlag(flags, "down-ms", 200, { min: 0, max: 60_000 }),
    ...workloadFlags(flags, DEFAULTS),
    token: stringFlag(flags, "token"),
  };
}

/** Places orders while the kill loop runs, then audits the last incarnation. */
async function measure(server: ChildServer, s: Settings) {
  const tag = `crash-${runId()}`;
  const menu = await prepareMenu(server.url, { tag, ...s });
  const before = await newestOrderId(server.url);
  const w = new Workload({
    ...s,
    base: server.url,
    menu,
    readShare: 0,
    tag,
    retryForMs: 120_000,
  });
  const progress = new Progress(() => w.status());
  const [killed] = await Promise.all([killLoop(server, w, s), w.run()]);
  progress.stop();
  note("auditing the restarted server against every acknowledgement …");
  const audit = await auditWorkload(server.url, before, w);
  for (const k of killed) {
    k.present_after = w.acks.slice(0, k.acked_before)
      .filter((a) => audit.isPresent(a.id)).length;
  }
  const passed = audit.passed &&
    killed.every((k) => k.present_after === k.acked_before);
  return { killed, audit, passed, summary: w.summary() };
}

type Result = Awaited<ReturnType<typeof measure>>;

function killTable(killed: Kill[]): string {
  return mdTable(
    [
      "kill",
      "at (s)",
      "acknowledged before",
      "present after restart",
      "in flight at kill",
      "restart to healthy (ms)",
    ],
    killed.map((k) => [
      k.n,
      k.at_s.toFixed(1),
      k.acked_before,
      k.present_after ?? "?",
      k.in_flight,
      ms(k.restart_ms),
    ]),
  );
}

function render(
  r: Result,
  ctx: { s: Settings; label: string; errorLines: number; svg?: string },
): string {
  const { s } = ctx;
  return [
    header("Crash test: SIGKILL under load, restart, audit", {
      passed: r.passed,
      command: commandLine("crash-test", Deno.args),
      target: ctx.label,
    }),
    `${s.connections} connections placed orders for ${
      s.durationMs / 1000
    } s while the server was SIGKILLed ${s.kills} times ` +
    `(dead for ${s.downMs} ms each time, then restarted on the same database and port). ` +
    `Unanswered requests were retried with the same Idempotency-Key until answered.`,
    "",
    "## Kills",
    "",
    killTable(r.killed),
    "",
    "## Throughput and latency",
    "",
    workloadMarkdown(r.summary),
    "",
    ctx.svg ? `![orders per second with kills](${ctx.svg})\n` : "",
    "## Audit",
    "",
    auditMarkdown(r.audit.orders, r.audit.stock),
    "",
    `Server log lines at level error (all incarnations): ${ctx.errorLines}.`,
    "",
  ].join("\n");
}

async function main() {
  const flags = parseFlags(Deno.args, {
    ...WORKLOAD_OPTIONS,
    kills: { type: "string" },
    "down-ms": { type: "string" },
  }, USAGE);
  const s = settingsOf(flags);
  const db = await openDatabase(stringFlag(flags, "database-url"));
  let server: ChildServer | undefined;
  try {
    server = await startServer({ databaseUrl: db.url });
    const label = childLabel(server.url, db.label);
    note(
      `crash-test: ${s.kills} kills in ${s.durationMs / 1000} s, ` +
        `${s.connections} connections, against ${label}`,
    );
    const r = await measure(server, s);
    const errorLines = server.errorLines();
    const { token: _, ...settings } = s;
    const data = {
      task: "crash-test",
      settings,
      target: label,
      kills: r.killed,
      ...r.summary,
      server_error_log_lines: errorLines,
      audit: r.audit,
      passed: r.passed,
    };
    const markers = r.killed.map((k) => ({
      index: Math.floor(k.at_s),
      label: `kill ${k.n}`,
    }));
    const pg = db.url.startsWith("postgres");
    const files = await writeReport(pg ? "crash-test-postgres" : "crash-test", {
      markdown: (svg) => render(r, { s, label, errorLines, svg }),
      data,
      svg: timelineChart(
        `Orders through ${s.kills} SIGKILLs`,
        r.summary.per_second,
        markers,
      ),
    }, flags.out as string | undefined);
    const { orders, stock } = r.audit;
    note(
      `report: ${files.markdown}\n${r.passed ? "PASS" : "FAIL"}: ` +
        `${r.summary.counts.acked} acknowledged through ${s.kills} kills, ` +
        `lost ${orders.lost}, duplicated ${orders.duplicated}, stock conserved ${stock.conserved}`,
    );
    if (!r.passed) Deno.exitCode = 1;
  } finally {
    await server?.stop();
    await db.cleanup();
  }
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`crash-test failed: ${e instanceof Error ? e.message : e}`)
  );
}
