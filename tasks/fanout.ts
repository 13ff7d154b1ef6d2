/**
 * Fan-out benchmark: N kitchen screens on `GET /kitchen/events` of a real
 * server on loopback, orders placed at a steady rate, and the delay from each
 * order's write to its arrival at every screen, as p50/p99.
 *
 *   deno task fanout [--clients 1000] [--rate 20] [--duration 10s] [--workers 2]
 *                    [--url URL | --database-url URL]
 *
 * The delay is measured from the order's `created_at` (stamped inside the
 * write transaction, just before COMMIT) to the client reading the event, on
 * the same clock: an upper bound of commit-to-screen. Clients run in worker
 * threads of this process; the server is a separate process.
 *
 * @module
 */
import {
  durationFlag,
  fail,
  numberFlag,
  parseFlags,
  sleep,
  stringFlag,
} from "./_lib/cli.ts";
import { bearer, getJson } from "./_lib/http.ts";
import { note, Progress } from "./_lib/progress.ts";
import {
  commandLine,
  header,
  int,
  mdTable,
  ms,
  writeReport,
} from "./_lib/report.ts";
import { summarize } from "./_lib/stats.ts";
import { openTarget } from "./_lib/target.ts";

const WORKER_NAME = "fanout-clients";
const P99_TARGET_MS = 100;

/** Messages between the main thread and a client worker. */
type ToWorker =
  | { type: "connect"; url: string; clients: number }
  | { type: "finish" };
type FromWorker =
  | { type: "ready"; connected: number; failed: string[] }
  | { type: "progress"; received: number }
  | {
    type: "done";
    latencies: Float64Array;
    /** Order id -> how many of this worker's clients got it. */
    perOrder: [number, number][];
    dropped: number;
  };

// --- worker side ----------------------------------------------------------------

/** One worker's share of the screens. */
function runWorker() {
  const post = (m: FromWorker, transfer: Transferable[] = []) =>
    (self as unknown as Worker).postMessage(m, transfer);
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const perOrder = new Map<number, number>();
  const readers: Deno.Conn[] = [];
  const conns: Deno.Conn[] = [];
  let dropped = 0;
  let lastProgress = 0;

  const record = (orderId: number, createdAt: number, now: number) => {
    const delay = now - createdAt;
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[count++] = delay;
    perOrder.set(orderId, (perOrder.get(orderId) ?? 0) + 1);
    if (count - lastProgress >= 5000) {
      lastProgress = count;
      post({ type: "progress", received: count });
    }
  };

  // A lean client (raw TCP, string search): the benchmark measures the
  // server's fan-out, not the cost of a general-purpose SSE parser.
  const MARK = "event: order.created\ndata: ";
  const connectOne = async (url: string) => {
    const { hostname, port, host } = new URL(url);
    const conn = await Deno.connect({ hostname, port: Number(port) });
    await conn.write(
      new TextEncoder().encode(
        `GET /kitchen/events HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(256 * 1024);
    const decoder = new TextDecoder();
    let carry = "";
    let ready = false;
    let announce!: (ok: boolean) => void;
    const isReady = new Promise<boolean>((r) => announce = r);
    conns.push(conn);
    (async () => {
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) {
          if (!ready) announce(false);
          else dropped++;
          return;
        }
        const now = Date.now();
        const text = carry +
          decoder.decode(buf.subarray(0, n), { stream: true });
        const end = text.lastIndexOf("\n\n");
        if (end < 0) {
          carry = text;
          continue;
        }
        carry = text.slice(end + 2);
        if (!ready && text.lastIndexOf("event: ready", end) >= 0) {
          ready = true;
          announce(true);
        }
        for (let at = text.indexOf(MARK); at >= 0 && at < end;) {
          const from = at + MARK.length;
          const to = text.indexOf("\n", from);
          const order = JSON.parse(text.slice(from, to)) as {
            id: number;
            created_at: string;
          };
          record(order.id, Date.parse(order.created_at), now);
          at = text.indexOf(MARK, to);
        }
      }
    })();
    if (!await isReady) throw new Error("stream ended before ready");
    readers.push(conn);
  };

  const scope = self as unknown as {
    onmessage: (e: MessageEvent<ToWorker>) => void;
    close(): void;
  };
  scope.onmessage = async (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    if (msg.type === "connect") {
      const failed: string[] = [];
      // Connect in waves so the listen backlog is never the bottleneck.
      for (let i = 0; i < msg.clients; i += 50) {
        const wave = Array.from(
          { length: Math.min(50, msg.clients - i) },
          () => connectOne(msg.url).catch((e) => failed.push(String(e))),
        );
        await Promise.all(wave);
      }
      post({ type: "ready", connected: readers.length, failed });
    } else {
      const result = latencies.slice(0, count);
      post({
        type: "done",
        latencies: result,
        perOrder: [...perOrder],
        dropped,
      }, [result.buffer]);
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      scope.close();
    }
  };
}

// --- main side ------------------------------------------------------------------

const USAGE = `Usage: deno task fanout [options]
  --clients N          event-stream clients (default 1000)
  --rate R             orders per second, evenly spaced (default 20)
  --duration D         how long orders are placed: 10s, 500ms (default 10s)
  --workers W          client worker threads (default 2)`;

interface WorkerHandle {
  worker: Worker;
  received: number;
  next(): Promise<FromWorker>;
}

function startWorker(): WorkerHandle {
  const worker = new Worker(import.meta.url, {
    type: "module",
    name: WORKER_NAME,
  });
  const queue: FromWorker[] = [];
  const waiting: ((m: FromWorker) => void)[] = [];
  const handle: WorkerHandle = {
    worker,
    received: 0,
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise((r) => waiting.push(r)),
  };
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.type === "progress") {
      handle.received = e.data.received;
      return;
    }
    const w = waiting.shift();
    if (w) w(e.data);
    else queue.push(e.data);
  };
  return handle;
}

async function menuItemId(url: string, token?: string): Promise<number> {
  const { body: menu } = await getJson<
    { id: number; available: boolean; stock: number | null }[]
  >(`${url}/menu`);
  const item = menu.find((m) => m.available && m.stock === null);
  if (item) return item.id;
  const res = await fetch(`${url}/menu`, {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(token) },
    body: JSON.stringify({
      name: `Fan-out dish ${crypto.randomUUID().slice(0, 6)}`,
      price: 9.5,
    }),
  });
  if (res.status !== 201) fail(`could not create a menu item: ${res.status}`);
  return (await res.json()).id;
}

/** Places orders at a steady rate; resolves to their ids and POST round trips. */
async function placeOrders(
  url: string,
  itemId: number,
  rate: number,
  durationMs: number,
) {
  const ids: number[] = [];
  const roundTrips: number[] = [];
  const errors: string[] = [];
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push((async () => {
      const start = performance.now();
      try {
        const res = await fetch(`${url}/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "Idempotency-Key": crypto.randomUUID(),
          },
          body: JSON.stringify({
            items: [{ menu_item_id: itemId, quantity: 1 }],
            notes: `fanout ${i}`,
          }),
        });
        const body = await res.json();
        if (res.status !== 200) errors.push(`HTTP ${res.status}`);
        else {
          ids.push(body.id);
          roundTrips.push(performance.now() - start);
        }
      } catch (e) {
        errors.push(String(e));
      }
    })());
  }
  await Promise.all(inflight);
  return { ids, roundTrips, errors, total };
}

async function main() {
  const flags = parseFlags(Deno.args, {
    clients: { type: "string" },
    rate: { type: "string" },
    duration: { type: "string" },
    workers: { type: "string" },
  }, USAGE);
  const clients = numberFlag(flags, "clients", 1000, { min: 1, max: 10_000 });
  const rate = numberFlag(flags, "rate", 20, {
    min: 0.1,
    max: 5000,
    int: false,
  });
  const durationMs = durationFlag(flags, "duration", 10_000);
  const workers = Math.min(
    numberFlag(flags, "workers", 2, { min: 1, max: 64 }),
    clients,
  );
  const token = stringFlag(flags, "token");
  const target = await openTarget(flags);
  const handles: WorkerHandle[] = [];
  try {
    note(`target: ${target.label}`);
    const itemId = await menuItemId(target.url, token);
    for (let i = 0; i < workers; i++) handles.push(startWorker());
    const t0 = performance.now();
    handles.forEach((h, i) => {
      const share = Math.floor(clients / workers) +
        (i < clients % workers ? 1 : 0);
      h.worker.postMessage(
        { type: "connect", url: target.url, clients: share } as ToWorker,
      );
    });
    let connected = 0;
    const failed: string[] = [];
    for (const h of handles) {
      const m = await h.next();
      if (m.type !== "ready") fail(`worker answered ${m.type}`);
      connected += m.connected;
      failed.push(...m.failed);
    }
    note(
      `${connected} of ${clients} streams connected in ${
        Math.round(performance.now() - t0)
      } ms${failed.length ? ` (${failed.length} failed: ${failed[0]})` : ""}`,
    );
    if (connected === 0) fail("no client connected");

    const progress = new Progress(() =>
      `deliveries ${int(handles.reduce((n, h) => n + h.received, 0))}`
    );
    const placed = await placeOrders(target.url, itemId, rate, durationMs);
    const expected = placed.ids.length * connected;
    // Let the last deliveries land (bounded).
    const drainEnd = Date.now() + 10_000;
    while (
      Date.now() < drainEnd &&
      handles.reduce((n, h) => n + h.received, 0) < expected - 5000
    ) await sleep(100);
    await sleep(1000);
    progress.stop();

    const latencies: number[] = [];
    const perOrder = new Map<number, number>();
    let dropped = 0;
    for (const h of handles) {
      h.worker.postMessage({ type: "finish" } as ToWorker);
      const m = await h.next();
      if (m.type !== "done") fail(`worker answered ${m.type}`);
      for (const v of m.latencies) latencies.push(v);
      for (const [id, n] of m.perOrder) {
        perOrder.set(id, (perOrder.get(id) ?? 0) + n);
      }
      dropped += m.dropped;
    }
    const placedIds = new Set(placed.ids);
    let missing = 0;
    let duplicates = 0;
    for (const id of placed.ids) {
      const n = perOrder.get(id) ?? 0;
      if (n < connected) missing += connected - n;
      if (n > connected) duplicates += n - connected;
    }
    const foreign = [...perOrder.keys()].filter((id) => !placedIds.has(id))
      .length;
    const delivery = summarize(latencies);
    const post = summarize(placed.roundTrips);
    const passed = missing === 0 && duplicates === 0 && dropped === 0 &&
      placed.errors.length === 0 && delivery.p99 < P99_TARGET_MS;
    const data = {
      clients,
      connected,
      failed_connections: failed.length,
      workers,
      rate_per_s: rate,
      duration_ms: durationMs,
      orders_placed: placed.ids.length,
      order_errors: placed.errors.length,
      deliveries_expected: expected,
      deliveries: latencies.length,
      missing,
      duplicates,
      foreign_orders: foreign,
      streams_dropped: dropped,
      delivery_ms: delivery,
      post_orders_ms: post,
      target_p99_ms: P99_TARGET_MS,
      passed,
    };
    console.log(JSON.stringify(data, null, 2));
    const pg = target.server?.databaseUrl.startsWith("postgres") ?? false;
    const files = await writeReport(pg ? "fanout-postgres" : "fanout", {
      data,
      markdown: () =>
        [
          header(`Fan-out: ${connected} event streams, ${rate} orders/s`, {
            passed,
            command: commandLine("fanout", Deno.args),
            target: target.label,
          }),
          `Delay from each order's \`created_at\` (stamped in the write transaction, just before COMMIT) to its arrival on every \`GET /kitchen/events\` client, same clock. Target: p99 < ${P99_TARGET_MS} ms.`,
          "",
          mdTable(
            ["", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            [
              [
                "commit → screen",
                int(delivery.count),
                ms(delivery.p50),
                ms(delivery.p95),
                ms(delivery.p99),
                ms(delivery.max),
              ],
              [
                "POST /orders round trip",
                int(post.count),
                ms(post.p50),
                ms(post.p95),
                ms(post.p99),
                ms(post.max),
              ],
            ],
          ),
          "",
          `Orders placed: ${placed.ids.length} (${placed.errors.length} errors). Deliveries: ${
            int(latencies.length)
          } of ${
            int(expected)
          } expected; missing ${missing}, duplicated ${duplicates}, streams dropped ${dropped}.`,
          "",
        ].join("\n"),
    });
    note(`report: ${files.markdown}`);
    if (!passed) Deno.exitCode = 1;
  } finally {
    for (const h of handles) h.worker.terminate();
    await target.close();
  }
}

if ((globalThis as { name?: string }).name === WORKER_NAME) runWorker();
else if (import.meta.main) await main();
