/**
 * The original concurrent-orders reproduction: C cashiers each place N orders
 * of 2 × item 1 + 1 × item 2, one every D ms, then the audit checks that every
 * acknowledged order exists exactly once.
 *
 *   deno task repro:orders [--cashiers 3] [--orders 10] [--delay-ms 2000]
 *                          [--avg-order-value X] [--url URL] [--out DIR]
 *
 * @module
 */
import {
  type Ack,
  auditMarkdown,
  auditOrders,
  auditPassed,
  newestOrderId,
  ordersAfter,
} from "./_lib/audit.ts";
import {
  fail,
  type Flags,
  numberFlag,
  parseFlags,
  runId,
  sleep,
} from "./_lib/cli.ts";
import { type Placed, placeOrder } from "./_lib/orders.ts";
import { note, Progress } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  mdTable,
  money,
  ms,
  pct,
  writeReport,
} from "./_lib/report.ts";
import { summarize } from "./_lib/stats.ts";
import { openTarget } from "./_lib/target.ts";

const USAGE = `Usage: deno task repro:orders [options]
  --cashiers N          concurrent cashiers (default 3)
  --orders N            orders per cashier (default 10)
  --delay-ms MS         pause between one cashier's orders (default 2000)
  --avg-order-value X   revenue per lost order (default: the mean total the server priced)`;

/** Rushes per day and days per month used for the business impact. */
const RUSHES_PER_DAY = 3, DAYS_PER_MONTH = 30;

interface Settings {
  cashiers: number;
  orders: number;
  delayMs: number;
  avgOrderValue?: number;
}

function settingsOf(flags: Flags): Settings {
  const s: Settings = {
    cashiers: numberFlag(flags, "cashiers", 3, { min: 1, max: 10_000 }),
    orders: numberFlag(flags, "orders", 10, { min: 1, max: 100_000 }),
    delayMs: numberFlag(flags, "delay-ms", 2000, { min: 0, max: 600_000 }),
  };
  if (flags["avg-order-value"] !== undefined) {
    s.avgOrderValue = numberFlag(flags, "avg-order-value", 0, {
      min: 0,
      max: 1e6,
      int: false,
    });
  }
  return s;
}

/** Runs every cashier; resolves to one result per order, in cashier/order order. */
async function runCashiers(base: string, s: Settings, tag: string) {
  const done = { ok: 0, failed: 0, retries: 0 };
  const progress = new Progress(() =>
    `orders ${done.ok + done.failed}/${
      s.cashiers * s.orders
    }  ok ${done.ok}  failed ${done.failed}  retries ${done.retries}`
  );
  const cashier = async (c: number) => {
    const out: { notes: string; placed: Placed }[] = [];
    for (let n = 1; n <= s.orders; n++) {
      const notes = `Cashier ${c} - Order ${n}`;
      const placed = await placeOrder(base, `repro-${tag}-c${c}-o${n}`, {
        items: [{ menu_item_id: 1, quantity: 2 }, {
          menu_item_id: 2,
          quantity: 1,
        }],
        notes,
      });
      done.retries += placed.attempts - 1;
      placed.result === "acked" ? done.ok++ : done.failed++;
      out.push({ notes, placed });
      if (n < s.orders && s.delayMs > 0) await sleep(s.delayMs);
    }
    return out;
  };
  const t0 = performance.now();
  const results = (await Promise.all(
    Array.from({ length: s.cashiers }, (_, i) => cashier(i + 1)),
  )).flat();
  progress.stop();
  return { results, wallMs: performance.now() - t0 };
}

/** The original report's table, counted from the answers and the database. */
function tableOf(results: { placed: Placed }[], duplicates: number) {
  const failed = results.filter((r) => r.placed.result !== "acked");
  const lock = failed.filter((r) =>
    /locked|SQLITE_BUSY/i.test(r.placed.text ?? r.placed.code ?? "")
  );
  return {
    total: results.length,
    successful: results.length - failed.length,
    failed: failed.length,
    lock_errors: lock.length,
    other_errors: failed.length - lock.length,
    duplicates,
  };
}

function impactOf(lost: number, avgOrderValue: number) {
  const perDay = lost * RUSHES_PER_DAY;
  return {
    avg_order_value: avgOrderValue,
    lost_orders_per_test: lost,
    lost_revenue_per_test: lost * avgOrderValue,
    lost_orders_per_day: perDay,
    lost_revenue_per_day: perDay * avgOrderValue,
    lost_orders_per_month: perDay * DAYS_PER_MONTH,
    lost_revenue_per_month: perDay * DAYS_PER_MONTH * avgOrderValue,
  };
}

type Run = Awaited<ReturnType<typeof runCashiers>>;

/** Audits the run against the database and works out the table and the impact. */
async function analyse(base: string, before: number, run: Run, s: Settings) {
  const { results } = run;
  const ours = new Set(results.map((r) => r.notes));
  const mine = (await ordersAfter(base, before)).filter((o) =>
    ours.has(o.notes ?? "")
  );
  const acked = results.filter((r) => r.placed.result === "acked");
  const acks: Ack[] = acked.map((r) => ({ id: r.placed.id!, notes: r.notes }));
  const audit = auditOrders(acks, mine);
  const table = tableOf(results, audit.duplicated);
  const mean = acked.reduce((n, r) => n + r.placed.total!, 0) / acked.length;
  const avg = s.avgOrderValue ?? (acked.length ? mean : 25);
  return {
    task: "repro:orders",
    settings: s,
    wall_ms: Math.round(run.wallMs),
    table,
    impact: impactOf(table.failed + audit.lost, avg),
    latency_ms: summarize(results.map((r) => r.placed.totalMs)),
    retries: results.reduce((n, r) => n + r.placed.attempts - 1, 0),
    failures: results.filter((r) => r.placed.result !== "acked").slice(0, 20)
      .map((r) => ({
        notes: r.notes,
        status: r.placed.status,
        code: r.placed.code,
      })),
    audit,
    passed: table.failed === 0 && auditPassed(audit),
  };
}

async function main() {
  const flags = parseFlags(Deno.args, {
    cashiers: { type: "string" },
    orders: { type: "string" },
    "delay-ms": { type: "string" },
    "avg-order-value": { type: "string" },
  }, USAGE);
  const s = settingsOf(flags);
  const target = await openTarget(flags);
  try {
    note(
      `repro:orders: ${s.cashiers} cashiers × ${s.orders} orders, ${s.delayMs} ms apart, against ${target.label}`,
    );
    const before = await newestOrderId(target.url);
    const run = await runCashiers(target.url, s, runId());
    note("auditing against GET /orders …");
    const data = {
      target: target.label,
      ...await analyse(target.url, before, run, s),
    };
    const md = render(data, commandLine("repro:orders", Deno.args));
    console.log(md.split("## Audit")[0]);
    // The original scenario keeps the plain name; other sizes get their own.
    const original = s.cashiers === 3 && s.orders === 10 && s.delayMs === 2000;
    const name = original
      ? "repro-orders"
      : `repro-orders-${s.cashiers}x${s.orders}`;
    const files = await writeReport(name, {
      markdown: () => md,
      data,
    }, flags.out as string | undefined);
    note(
      `report: ${files.markdown}\n${data.passed ? "PASS" : "FAIL"}: ${
        auditLine(data.audit)
      }`,
    );
    if (!data.passed) Deno.exitCode = 1;
  } finally {
    await target.close();
  }
}

function auditLine(
  a: { acknowledged: number; lost: number; duplicated: number },
) {
  return `${a.acknowledged} acknowledged, ${a.lost} lost, ${a.duplicated} duplicated`;
}

type Data = Awaited<ReturnType<typeof analyse>> & { target: string };

function render(d: Data, command: string): string {
  const t = d.table, i = d.impact, l = d.latency_ms;
  return [
    header("Concurrent orders reproduction", {
      passed: d.passed,
      command,
      target: d.target,
    }),
    `${d.settings.cashiers} cashiers × ${d.settings.orders} orders, ${d.settings.delayMs} ms between one cashier's orders; ` +
    `every order is \`{"items":[{"menu_item_id":1,"quantity":2},{"menu_item_id":2,"quantity":1}],"notes":"Cashier C - Order N"}\` ` +
    `with its own Idempotency-Key (transport errors are retried with the same key: ${d.retries} retries). Wall time ${
      (d.wall_ms / 1000).toFixed(1)
    } s.`,
    "",
    "## Results",
    "",
    mdTable(["metric", "count", "share"], [
      ["Total orders", t.total, "100.0%"],
      ["Successful (HTTP 200)", t.successful, pct(t.successful, t.total)],
      ["Failed", t.failed, pct(t.failed, t.total)],
      [
        'Lock errors ("database is locked")',
        t.lock_errors,
        pct(t.lock_errors, t.total),
      ],
      ["Other errors", t.other_errors, pct(t.other_errors, t.total)],
      [
        "Duplicates (same notes stored twice)",
        t.duplicates,
        pct(t.duplicates, t.total),
      ],
    ]),
    "",
    `Latency per order (first attempt to 200): p50 ${ms(l.p50)} ms, p95 ${
      ms(l.p95)
    } ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms.`,
    "",
    "## Business impact",
    "",
    `At an average order value of ${
      money(i.avg_order_value)
    }, ${RUSHES_PER_DAY} rushes a day, ${DAYS_PER_MONTH} days a month:`,
    "",
    mdTable(["period", "lost orders", "lost revenue"], [
      [
        "per test (one rush)",
        i.lost_orders_per_test,
        money(i.lost_revenue_per_test),
      ],
      [
        `per day (${RUSHES_PER_DAY} rushes)`,
        i.lost_orders_per_day,
        money(i.lost_revenue_per_day),
      ],
      [
        `per month (${DAYS_PER_MONTH} days)`,
        i.lost_orders_per_month,
        money(i.lost_revenue_per_month),
      ],
    ]),
    "",
    "## Audit",
    "",
    "Every order the cashiers saw acknowledged, looked up through `GET /orders` (paged with `Link`/`before`), matched by id and notes:",
    "",
    auditMarkdown(d.audit),
    "",
  ].join("\n");
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`repro:orders failed: ${e instanceof Error ? e.message : e}`)
  );
}
