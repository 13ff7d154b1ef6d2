/** Placing one order exactly once from the client side: an Idempotency-Key, retried until answered. */
import { sleep } from "./cli.ts";
import { errorCode, type Outcome, send } from "./http.ts";
import type { HttpConnection } from "./raw_http.ts";

/** Body of `POST /orders`. */
export interface OrderBody {
  items: { menu_item_id: number; quantity: number }[];
  notes: string;
  customer_name?: string;
}

/** How hard to try. */
export interface PlaceOptions {
  /** Share of orders whose first attempt is aborted mid-flight (0–1). */
  faultRate?: number;
  /** An injected abort fires after 0..faultMaxMs ms (default 5). */
  faultMaxMs?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Keep retrying transport errors, 409 in-flight and 5xx this long (default 60 s). */
  retryForMs?: number;
  client?: Deno.HttpClient;
  /** Sends on this keep-alive connection instead of `fetch`. */
  via?: HttpConnection;
  /** Latency counts from here (a paced run's scheduled start), not from the attempt. */
  dueAt?: number;
  /** Called after every attempt (progress counters). */
  onAttempt?: (o: Outcome) => void;
}

/** How a logical order ended. */
export interface Placed {
  /** acked: 200 with an order; rejected: a final non-200; gave_up: retries ran out. */
  result: "acked" | "rejected" | "gave_up";
  id?: number;
  total?: number;
  /** Final HTTP status, when there was one. */
  status?: number;
  /** Final error code or transport error text. */
  code?: string;
  /** Final response body as text (rejections; the original table looks for "locked"). */
  text?: string;
  attempts: number;
  faults: number;
  transportErrors: number;
  serverErrors: number;
  inFlight409: number;
  /** The acknowledging answer carried `Idempotent-Replayed: true`. */
  replayed: boolean;
  /** Latency of the acknowledging attempt. */
  ms: number;
  /** From the first attempt to the final answer. */
  totalMs: number;
}

function backoff(attempt: number): number {
  return Math.min(500, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
}

/** Posts `body` under `key` until it gets a final answer; transport errors retry with the same key. */
export async function placeOrder(
  base: string,
  key: string,
  body: OrderBody,
  opts: PlaceOptions = {},
): Promise<Placed> {
  const t0 = performance.now();
  const deadline = t0 + (opts.retryForMs ?? 60_000);
  const p: Placed = {
    result: "gave_up",
    attempts: 0,
    faults: 0,
    transportErrors: 0,
    serverErrors: 0,
    inFlight409: 0,
    replayed: false,
    ms: 0,
    totalMs: 0,
  };
  const inject = Math.random() < (opts.faultRate ?? 0);
  while (true) {
    p.attempts++;
    const o = await (opts.via ?? { send }).send(`${base}/orders`, {
      method: "POST",
      body,
      headers: { "idempotency-key": key },
      timeoutMs: opts.timeoutMs ?? 30_000,
      abortAfterMs: inject && p.attempts === 1
        ? Math.random() * (opts.faultMaxMs ?? 5)
        : undefined,
      client: opts.client,
    });
    opts.onAttempt?.(o);
    let wait = 0;
    if (o.kind === "aborted") {
      p.faults++;
    } else if (o.kind !== "response") {
      p.transportErrors++;
      p.code = o.error;
      wait = backoff(p.transportErrors);
    } else if (o.status === 200) {
      const order = o.body as { id: number; total: number };
      return Object.assign(p, {
        result: "acked" as const,
        id: order.id,
        total: order.total,
        status: 200,
        replayed: o.headers.get("idempotent-replayed") === "true",
        ms: opts.dueAt === undefined ? o.ms : performance.now() - opts.dueAt,
        totalMs: performance.now() - t0,
      });
    } else if (
      o.status === 409 && errorCode(o.body) === "idempotency_key_in_flight"
    ) {
      p.inFlight409++;
      wait = 1000 * Number(o.headers.get("retry-after") ?? "1");
    } else if (o.status >= 500) {
      p.serverErrors++;
      p.code = errorCode(o.body) ?? `HTTP ${o.status}`;
      wait = backoff(p.serverErrors);
    } else {
      return Object.assign(p, {
        result: "rejected" as const,
        status: o.status,
        code: errorCode(o.body) ?? `HTTP ${o.status}`,
        text: typeof o.body === "string" ? o.body : JSON.stringify(o.body),
        ms: o.ms,
        totalMs: performance.now() - t0,
      });
    }
    if (performance.now() + wait > deadline) {
      p.totalMs = performance.now() - t0;
      return p;
    }
    if (wait > 0) await sleep(wait);
  }
}
