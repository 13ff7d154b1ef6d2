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
import { type ChildServer, startServer } from "./_lib/server.ts";
import { openDatabase } from "./_lib/target.ts";
import {
  auditWorkload,
  prepareMenu,
  timelineChart,
  Workload,
  WORKLOAD_OPTIONS,
  workloadFlags,
  workloadHelp,
  workloadMarkdown,
} from "./_lib/workload.ts";

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

async function main() {
  const flags = parseFlags(Deno.args, {
    ...WORKLOAD_OPTIONS,
    kills: { type: "string" },
    "down-ms": { type: "string" },
  }, USAGE);
  if (stringFlag(flags, "url")) {
    fail(
      "crash-test starts and kills its own server; use --database-url, not --url",
    );
  }
  const kills = numberFlag(flags, "kills", 5, { min: 0, max: 100 });
  const downMs = numberFlag(flags, "down-ms", 200, { min: 0, max: 60_000 });
  const { connections, durationMs, faultRate, stock } = workloadFlags(
    flags,
    DEFAULTS,
  );
  const tag = `crash-${runId()}`;

  const db = await openDatabase(stringFlag(flags, "database-url"));
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: connections });
  let server: ChildServer | undefined;
  try {
    server = await startServer({ databaseUrl: db.url });
    const label = `child server ${server.url} on ${db.label}`;
    note(
      `crash-test: ${kills} kills in ${
        durationMs / 1000
      } s, ${connections} connections, against ${label}`,
    );
    const menu = await prepareMenu(server.url, {
      tag,
      stock,
      token: stringFlag(flags, "token"),
    });
    const before = await newestOrderId(server.url);
    const w = new Workload({
      base: server.url,
      menu,
      connections,
      durationMs,
      faultRate,
      readShare: 0,
      tag,
      client,
      retryForMs: 120_000,
    });
    const progress = new Progress(() => w.status());
    const [killed] = await Promise.all([
      killLoop(server, w, { kills, durationMs, downMs }),
      w.run(),
    ]);
    progress.stop();
    note("auditing the restarted server against every acknowledgement …");
    const audit = await auditWorkload(server.url, before, w);
    for (const k of killed) {
      k.present_after = w.acks.slice(0, k.acked_before)
        .filter((a) => audit.isPresent(a.id)).length;
    }
    const summary = w.summary();
    const passed = audit.passed &&
      killed.every((k) => k.present_after === k.acked_before);
    const data = {
      task: "crash-test",
      settings: {
        kills,
        duration_ms: durationMs,
        connections,
        down_ms: downMs,
        faults: faultRate,
        stock,
      },
      target: label,
      kills: killed,
      ...summary,
      server_error_log_lines: server.errorLines(),
      audit,
      passed,
    };
    const command = commandLine("crash-test", Deno.args);
    const markers = killed.map((k) => ({
      index: Math.floor(k.at_s),
      label: `kill ${k.n}`,
    }));
    const markdown = (svg?: string) =>
      [
        header("Crash test: SIGKILL under load, restart, audit", {
          passed,
          command,
          target: label,
        }),
        `${connections} connections placed orders for ${
          durationMs / 1000
        } s while the server was SIGKILLed ${kills} times ` +
        `(dead for ${downMs} ms each time, then restarted on the same database and port). Unanswered requests were retried ` +
        `with the same Idempotency-Key until answered.`,
        "",
        "## Kills",
        "",
        mdTable(
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
        ),
        "",
        "## Throughput and latency",
        "",
        workloadMarkdown(summary),
        "",
        svg ? `![orders per second with kills](${svg})\n` : "",
        "## Audit",
        "",
        auditMarkdown(audit.orders, audit.stock),
        "",
        `Server log lines at level error (all incarnations): ${
          server!.errorLines()
        }.`,
        "",
      ].join("\n");
    const isPg = db.url.startsWith("postgres");
    const files = await writeReport(
      isPg ? "crash-test-postgres" : "crash-test",
      {
        markdown,
        data,
        svg: timelineChart(
          `Orders through ${kills} SIGKILLs`,
          summary.per_second,
          markers,
        ),
      },
      flags.out as string | undefined,
    );
    note(
      `report: ${files.markdown}\n${
        passed ? "PASS" : "FAIL"
      }: ${w.count.acked} acknowledged through ${kills} kills, ` +
        `lost ${audit.orders.lost}, duplicated ${audit.orders.duplicated}, stock conserved ${audit.stock.conserved}`,
    );
    if (!passed) Deno.exitCode = 1;
  } finally {
    client.close();
    await server?.stop();
    await db.cleanup();
  }
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`crash-test failed: ${e instanceof Error ? e.message : e}`)
  );
}
