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
  SEED_MACHINES,
  SEED_PRODUCTS,
  SEED_STOCK,
} from "../db/vending_seed.ts";
import { fail, listFlag, numberFlag, parseFlags } from "./_lib/cli.ts";
import { bearer, getJson, type Outcome, send } from "./_lib/http.ts";
import { note, Progress } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  int,
  mdTable,
  ms,
  pct,
  writeReport,
} from "./_lib/report.ts";
import { summarize, Tally } from "./_lib/stats.ts";
import { chart } from "./_lib/svg.ts";
import { openTarget } from "./_lib/target.ts";

const USAGE = `Usage: deno task stress:vending [options]
  --levels L,L,…       concurrency levels (default 10,25,50,100,250,500,1000,2500,5000; each up to 20000)
  --timeout-ms MS      per-request timeout (default 30000)
  --processing-ms MS   VENDING_PROCESSING_MS of the self-started server (default 20)
  Large levels open one socket per user: raise the open-files limit (ulimit -n 20000) if connections fail.`;

const DEFAULT_LEVELS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
/** A level breaks when more than this share of users saw a timeout or a connection error. */
const BREAK_SHARE = 0.1;
type Machine = { id: number; status: string };
type Product = { id: number; stock: number };

/** Creates the standard scenario (as `deno task seed:vending`) through the API on an empty server. */
async function seedIfEmpty(base: string, token?: string) {
  const machines =
    (await getJson<Machine[]>(`${base}/api/vending-machines`)).body;
  const products = (await getJson<Product[]>(`${base}/api/products`)).body;
  if (machines.length > 0 || products.length > 0) return false;
  const post = (path: string, body: unknown) =>
    getJson(`${base}${path}`, { method: "POST", body, headers: bearer(token) });
  for (const name of SEED_MACHINES) {
    await post("/api/vending-machines", { name });
  }
  for (const name of SEED_PRODUCTS) {
    await post("/api/products", { name, stock: SEED_STOCK });
  }
  return true;
}

async function resetAll(base: string, token?: string): Promise<number> {
  const machines =
    (await getJson<Machine[]>(`${base}/api/vending-machines`)).body;
  let reset = 0;
  for (const m of machines.filter((m) => m.status !== "idle")) {
    const r = await send(`${base}/api/vending-machines/${m.id}/reset`, {
      method: "POST",
      headers: bearer(token),
    });
    if (r.kind === "response" && r.status === 200) reset++;
  }
  return reset;
}

async function products(base: string): Promise<Product[]> {
  return (await getJson<Product[]>(`${base}/api/products`)).body;
}

/** Everything measured at one level. */
class Level {
  readonly start = new Tally();
  readonly choose = new Tally();
  readonly startMs: number[] = [];
  readonly chooseMs: number[] = [];
  timeouts = 0;
  connectionErrors = 0;
  /** Users who saw a timeout or a connection error. */
  brokenUsers = 0;
  usersDone = 0;
  wallMs = 0;

  constructor(readonly users: number) {}

  /** Counts one exchange; returns the status or null on a transport failure. */
  record(o: Outcome, tally: Tally, lat: number[]): number | null {
    if (o.kind === "response") {
      tally.add(o.status);
      lat.push(o.ms);
      return o.status;
    }
    if (o.kind === "timeout") this.timeouts++;
    else this.connectionErrors++;
    tally.add(o.kind);
    return null;
  }

  get purchases() {
    return this.choose.get(200);
  }
  get requests() {
    return this.startMs.length + this.chooseMs.length + this.timeouts +
      this.connectionErrors;
  }
}

async function user(
  base: string,
  level: Level,
  productIds: number[],
  opts: { timeoutMs: number; client: Deno.HttpClient },
) {
  const s = await send(`${base}/api/orchestrator/start-work`, {
    method: "POST",
    ...opts,
  });
  const status = level.record(s, level.start, level.startMs);
  let broken = status === null;
  if (status === 200 && s.kind === "response") {
    const machine = (s.body as { machine: { id: number } }).machine;
    const product_id =
      productIds[Math.floor(Math.random() * productIds.length)]!;
    const c = await send(`${base}/api/orchestrator/choose-product`, {
      method: "POST",
      body: { machine_id: machine.id, product_id, count: 1, coins: 1 },
      ...opts,
    });
    broken = level.record(c, level.choose, level.chooseMs) === null;
  }
  if (broken) level.brokenUsers++;
  level.usersDone++;
}

async function runLevel(
  base: string,
  users: number,
  productIds: number[],
  opts: { timeoutMs: number; client: Deno.HttpClient },
) {
  const level = new Level(users);
  const progress = new Progress(() =>
    `level ${users}: users done ${level.usersDone}/${users}  start-work ${
      JSON.stringify(level.start.counts)
    }  ` +
    `choose ${JSON.stringify(level.choose.counts)}`
  );
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: users }, () => user(base, level, productIds, opts)),
  );
  level.wallMs = performance.now() - t0;
  progress.stop();
  return level;
}

function levelRow(l: Level, stockLeft: number) {
  const all = summarize([...l.startMs, ...l.chooseMs]);
  return {
    users: l.users,
    wall_ms: Math.round(l.wallMs),
    rps: Math.round((l.requests / l.wallMs) * 1000),
    purchases: l.purchases,
    start_work: l.start.counts,
    choose_product: l.choose.counts,
    timeouts: l.timeouts,
    connection_errors: l.connectionErrors,
    broken_users: l.brokenUsers,
    latency_ms: {
      all,
      start_work: summarize(l.startMs),
      choose_product: summarize(l.chooseMs),
    },
    stock_left: stockLeft,
    broken: l.brokenUsers / l.users > BREAK_SHARE,
  };
}

type Row = ReturnType<typeof levelRow>;

async function main() {
  const flags = parseFlags(Deno.args, {
    levels: { type: "string" },
    "timeout-ms": { type: "string" },
    "processing-ms": { type: "string" },
  }, USAGE);
  const levels = listFlag(flags, "levels", DEFAULT_LEVELS, 20_000);
  const timeoutMs = numberFlag(flags, "timeout-ms", 30_000, {
    min: 100,
    max: 600_000,
  });
  const processingMs = numberFlag(flags, "processing-ms", 20, {
    min: 0,
    max: 3_600_000,
  });
  const token = flags.token as string | undefined;
  const target = await openTarget(flags, {
    VENDING_PROCESSING_MS: String(processingMs),
  });
  const client = Deno.createHttpClient({
    poolMaxIdlePerHost: Math.max(...levels),
  });
  try {
    const label = target.server
      ? `${target.label}, VENDING_PROCESSING_MS=${processingMs}`
      : target.label;
    note(`stress:vending: levels ${levels.join(", ")} against ${label}`);
    await warnAboutFileLimit(Math.max(...levels));
    const seeded = await seedIfEmpty(target.url, token);
    const initial = await products(target.url);
    const initialStock = initial.reduce((s, p) => s + p.stock, 0);
    const rows: Row[] = [];
    for (const users of levels) {
      await resetAll(target.url, token);
      const level = await runLevel(
        target.url,
        users,
        initial.map((p) => p.id),
        { timeoutMs, client },
      );
      const left = (await products(target.url)).reduce(
        (s, p) => s + p.stock,
        0,
      );
      rows.push(levelRow(level, left));
    }
    await resetAll(target.url, token);
    const remaining = (await products(target.url)).reduce(
      (s, p) => s + p.stock,
      0,
    );
    const purchases = rows.reduce((s, r) => s + r.purchases, 0);
    const integrity = {
      initial: initialStock,
      purchases,
      remaining,
      exact: initialStock - purchases === remaining,
    };
    const breaking = rows.find((r) => r.broken)?.users ?? null;
    const serverErrors = rows.reduce(
      (s, r) => s + count5xx(r.start_work) + count5xx(r.choose_product),
      0,
    );
    const passed = integrity.exact && serverErrors === 0;
    const data = {
      task: "stress:vending",
      settings: {
        levels,
        timeout_ms: timeoutMs,
        processing_ms: target.server ? processingMs : null,
        seeded,
      },
      target: label,
      levels: rows,
      breaking_point: breaking,
      stock_integrity: integrity,
      server_errors: serverErrors,
      passed,
    };
    const md = (svg?: string) =>
      render(rows, {
        integrity,
        breaking,
        svg,
        command: commandLine("stress:vending", Deno.args),
        label,
        passed,
        timeoutMs,
      });
    const files = await writeReport("stress-vending", {
      markdown: md,
      data,
      svg: levelChart(rows),
    }, flags.out as string | undefined);
    console.log(md().split("## Per endpoint")[0]);
    note(
      `report: ${files.markdown}\n${passed ? "PASS" : "FAIL"}: breaking point ${
        breaking ?? "none"
      }, stock ${integrity.exact ? "exact" : "NOT conserved"}`,
    );
    if (!passed) Deno.exitCode = 1;
  } finally {
    client.close();
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
