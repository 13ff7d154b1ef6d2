/**
 * The published vending stress methodology: at each concurrency level every
 * virtual user calls start-work, then choose-product (random product, count
 * 1, coins 1) on the machine it got; all machines are reset between levels;
 * 30 s request timeout. Reports latency, outcomes, the breaking point and
 * the stock-integrity check.
 *
 *   deno task stress:vending [--levels 10,25,…,5000] [--timeout-ms 30000]
 *                            [--processing-ms 20] [--url URL | --database-url URL]
 *
 * @module
 */
import {
  fail,
  type Flags,
  listFlag,
  numberFlag,
  parseFlags,
  stringFlag,
} from "./_lib/cli.ts";
import { note } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  int,
  mdTable,
  ms,
  pct,
  writeReport,
} from "./_lib/report.ts";
import { chart } from "./_lib/svg.ts";
import { openTarget } from "./_lib/target.ts";
import {
  BREAK_SHARE,
  ConnectionPool,
  levelRow,
  type Product,
  products,
  resetAll,
  type Row,
  runLevel,
  seedIfEmpty,
} from "./_lib/vending_levels.ts";

const USAGE = `Usage: deno task stress:vending [options]
  --levels L,L,…       concurrency levels (default 10,25,50,100,250,500,1000,2500,5000; each up to 20000)
  --timeout-ms MS      per-request timeout (default 30000)
  --processing-ms MS   VENDING_PROCESSING_MS of the self-started server (default 20)
  Each user holds one socket in this process and one in the server: the open-files limit
  (ulimit -n) must exceed the largest level by a few hundred (10,000 users: about 10,600).`;

const DEFAULT_LEVELS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
type Settings = ReturnType<typeof settingsOf>;

function settingsOf(flags: Flags) {
  return {
    levels: listFlag(flags, "levels", DEFAULT_LEVELS, 20_000),
    timeoutMs: numberFlag(flags, "timeout-ms", 30_000, {
      min: 100,
      max: 600_000,
    }),
    processingMs: numberFlag(flags, "processing-ms", 20, {
      min: 0,
      max: 3_600_000,
    }),
    token: stringFlag(flags, "token"),
  };
}

const totalStock = (list: Product[]) => list.reduce((n, p) => n + p.stock, 0);

/** Runs every level (machines reset before each), then checks the stock. */
async function measure(url: string, s: Settings) {
  const pool = new ConnectionPool(url);
  try {
    const seeded = await seedIfEmpty(url, s.token);
    const initial = await products(url);
    const ids = initial.map((p) => p.id);
    const rows: Row[] = [];
    for (const users of s.levels) {
      await resetAll(url, s.token);
      const level = await runLevel(users, ids, { ...s, pool });
      rows.push(levelRow(level, totalStock(await products(url))));
    }
    await resetAll(url, s.token);
    const purchases = rows.reduce((n, r) => n + r.purchases, 0);
    const integrity = {
      initial: totalStock(initial),
      purchases,
      remaining: totalStock(await products(url)),
      exact: false,
    };
    integrity.exact = integrity.initial - purchases === integrity.remaining;
    const serverErrors = rows.reduce(
      (n, r) => n + count5xx(r.start_work) + count5xx(r.choose_product),
      0,
    );
    return {
      seeded,
      rows,
      integrity,
      serverErrors,
      breaking: rows.find((r) => r.broken)?.users ?? null,
      passed: integrity.exact && serverErrors === 0,
    };
  } finally {
    pool.close();
  }
}

async function main() {
  const flags = parseFlags(Deno.args, {
    levels: { type: "string" },
    "timeout-ms": { type: "string" },
    "processing-ms": { type: "string" },
  }, USAGE);
  const s = settingsOf(flags);
  const target = await openTarget(flags, {
    VENDING_PROCESSING_MS: String(s.processingMs),
  });
  try {
    const label = target.server
      ? `${target.label}, VENDING_PROCESSING_MS=${s.processingMs}`
      : target.label;
    note(`stress:vending: levels ${s.levels.join(", ")} against ${label}`);
    await warnAboutFileLimit(Math.max(...s.levels));
    const r = await measure(target.url, s);
    const data = {
      task: "stress:vending",
      settings: {
        levels: s.levels,
        timeout_ms: s.timeoutMs,
        processing_ms: target.server ? s.processingMs : null,
        seeded: r.seeded,
      },
      target: label,
      levels: r.rows,
      breaking_point: r.breaking,
      stock_integrity: r.integrity,
      server_errors: r.serverErrors,
      passed: r.passed,
    };
    const md = (svg?: string) =>
      render(r.rows, {
        ...r,
        svg,
        command: commandLine("stress:vending", Deno.args),
        label,
        timeoutMs: s.timeoutMs,
      });
    const files = await writeReport("stress-vending", {
      markdown: md,
      data,
      svg: levelChart(r.rows),
    }, flags.out as string | undefined);
    console.log(md().split("## Per endpoint")[0]);
    note(
      `report: ${files.markdown}\n${r.passed ? "PASS" : "FAIL"}: ` +
        `breaking point ${r.breaking ?? "none"}, ` +
        `stock ${r.integrity.exact ? "exact" : "NOT conserved"}`,
    );
    if (!r.passed) Deno.exitCode = 1;
  } finally {
    await target.close();
  }
}

/** One socket per user: a level above the open-files limit fails with connection errors. */
async function warnAboutFileLimit(users: number) {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"] })
    .output().catch(() => null);
  const limit = Number(new TextDecoder().decode(out?.stdout).trim());
  if (Number.isFinite(limit) && users + 512 > limit) {
    note(
      `warning: ${users} users need about ${
        users + 512
      } open files per process, ` +
        `but ulimit -n is ${limit}; raise it (ulimit -n ${
          Math.ceil((users + 512) / 1000) * 1000
        }) or expect connection errors`,
    );
  }
}

function count5xx(t: Record<string, number>): number {
  return Object.entries(t).filter(([k]) => /^5\d\d$/.test(k)).reduce(
    (s, [, v]) => s + v,
    0,
  );
}

function levelChart(rows: Row[]): string {
  return chart({
    title: "Vending stress: p99 latency and answered users by level",
    xLabels: rows.map((r) => int(r.users)),
    xTitle: "concurrent virtual users",
    leftTitle: "p99 latency (ms)",
    rightTitle: "users answered without timeout or connection error (%)",
    series: [
      {
        name: "p99 all requests",
        values: rows.map((r) => r.latency_ms.all.p99),
      },
      {
        name: "p99 choose-product",
        values: rows.map((r) => r.latency_ms.choose_product.p99),
      },
      {
        name: "answered %",
        values: rows.map((r) => 100 * (1 - r.broken_users / r.users)),
        axis: "right",
        kind: "bar",
      },
    ],
  });
}

function render(
  rows: Row[],
  o: {
    integrity: {
      initial: number;
      purchases: number;
      remaining: number;
      exact: boolean;
    };
    breaking: number | null;
    svg?: string;
    command: string;
    label: string;
    passed: boolean;
    timeoutMs: number;
  },
): string {
  const lat = (
    s: { p50: number; p95: number; p99: number; max: number },
  ) => [ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)];
  return [
    header("Vending orchestrator stress test", {
      passed: o.passed,
      command: o.command,
      target: o.label,
    }),
    `Each level: every machine reset, then N virtual users at once, each calling \`POST /api/orchestrator/start-work\` and, ` +
    `when it got a machine, \`POST /api/orchestrator/choose-product\` (random product, count 1, coins 1); ${
      o.timeoutMs / 1000
    } s request timeout.`,
    "",
    `**Breaking point** (first level with more than ${
      BREAK_SHARE * 100
    }% of users seeing a timeout or connection error): ` +
    `**${o.breaking === null ? "none reached" : int(o.breaking)}**.`,
    "",
    `**Stock integrity**: initial ${o.integrity.initial} − purchases ${o.integrity.purchases} = ${
      o.integrity.initial - o.integrity.purchases
    }; remaining ${o.integrity.remaining}: **${
      o.integrity.exact ? "exact" : "MISMATCH"
    }**.`,
    "",
    "## By level",
    "",
    mdTable(
      [
        "users",
        "wall s",
        "req/s",
        "purchases",
        "start 200",
        "start 409",
        "choose 200",
        "choose 422",
        "timeouts",
        "conn errors",
        "p50",
        "p95",
        "p99",
        "max",
        "stock left",
      ],
      rows.map((r) => [
        int(r.users),
        (r.wall_ms / 1000).toFixed(2),
        int(r.rps),
        r.purchases,
        r.start_work[200] ?? 0,
        r.start_work[409] ?? 0,
        r.choose_product[200] ?? 0,
        r.choose_product[422] ?? 0,
        r.timeouts,
        r.connection_errors,
        ...lat(r.latency_ms.all),
        r.stock_left,
      ]),
    ),
    "",
    "Latencies in ms over both requests of every user.",
    "",
    o.svg ? `![p99 latency and answered users by level](${o.svg})\n` : "",
    "## Per endpoint",
    "",
    mdTable(
      [
        "users",
        "start-work p50",
        "p95",
        "p99",
        "max",
        "choose-product p50",
        "p95",
        "p99",
        "max",
        "answered",
      ],
      rows.map((r) => [
        int(r.users),
        ...lat(r.latency_ms.start_work),
        ...lat(r.latency_ms.choose_product),
        pct(r.users - r.broken_users, r.users),
      ]),
    ),
    "",
    `All answers by level: ${
      rows.map((r) =>
        `${r.users}: start-work ${
          JSON.stringify(r.start_work)
        }, choose-product ${JSON.stringify(r.choose_product)}`
      ).join("; ")
    }.`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`stress:vending failed: ${e instanceof Error ? e.message : e}`)
  );
}
