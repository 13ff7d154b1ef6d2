/** One level of the vending stress test: seeding, resets, virtual users, figures. */
import {
  SEED_MACHINES,
  SEED_PRODUCTS,
  SEED_STOCK,
} from "../../db/vending_seed.ts";
import { bearer, getJson, type Outcome, send } from "./http.ts";
import { HttpConnection } from "./raw_http.ts";
import { Progress } from "./progress.ts";
import { summarize, Tally } from "./stats.ts";

/** A level breaks when more than this share of users saw a timeout or a connection error. */
export const BREAK_SHARE = 0.1;
type Machine = { id: number; status: string };
/** A product with its stock. */
export type Product = { id: number; stock: number };

/** Creates the standard scenario (as `deno task seed:vending`) through the API on an empty server. */
export async function seedIfEmpty(base: string, token?: string) {
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

/** Resets every machine that is not idle; resolves to how many. */
export async function resetAll(base: string, token?: string): Promise<number> {
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

/** Every product with its stock. */
export async function products(base: string): Promise<Product[]> {
  return (await getJson<Product[]>(`${base}/api/products`)).body;
}

/** Everything measured at one level. */
export class Level {
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

  /** choose-product answered 200. */
  get purchases() {
    return this.choose.get(200);
  }
  /** Requests sent, answered or not. */
  get requests() {
    return this.startMs.length + this.chooseMs.length + this.timeouts +
      this.connectionErrors;
  }
}

/**
 * Kept-alive connections shared by the virtual users of every level, as a
 * browser pools them: a user takes one (or opens a new one) and gives it back.
 * Raw connections, not `fetch`: at 5,000 users the client's own `fetch`
 * calls were most of the latency it measured.
 */
export class ConnectionPool {
  #idle: HttpConnection[] = [];

  /** @param base the server's base URL (plain `http:`; checked here) */
  constructor(readonly base: string) {
    this.#idle.push(new HttpConnection(base));
  }

  /** An idle connection, or a new one. */
  take(): HttpConnection {
    return this.#idle.pop() ?? new HttpConnection(this.base);
  }

  /** Gives `conn` back for the next user. */
  give(conn: HttpConnection): void {
    this.#idle.push(conn);
  }

  /** Closes every idle connection. */
  close(): void {
    for (const c of this.#idle.splice(0)) c.close();
  }
}

/** How the virtual users send. */
export interface UserOptions {
  timeoutMs: number;
  pool: ConnectionPool;
}

/** One virtual user: start-work, then choose-product on the machine it got. */
async function user(
  level: Level,
  productIds: number[],
  opts: UserOptions,
) {
  const conn = opts.pool.take();
  try {
    const s = await conn.send(`${opts.pool.base}/api/orchestrator/start-work`, {
      method: "POST",
      timeoutMs: opts.timeoutMs,
    });
    const status = level.record(s, level.start, level.startMs);
    let broken = status === null;
    if (status === 200 && s.kind === "response") {
      const machine = (s.body as { machine: { id: number } }).machine;
      const product_id =
        productIds[Math.floor(Math.random() * productIds.length)]!;
      const c = await conn.send(
        `${opts.pool.base}/api/orchestrator/choose-product`,
        {
          method: "POST",
          body: { machine_id: machine.id, product_id, count: 1, coins: 1 },
          timeoutMs: opts.timeoutMs,
        },
      );
      broken = level.record(c, level.choose, level.chooseMs) === null;
    }
    if (broken) level.brokenUsers++;
    level.usersDone++;
  } finally {
    opts.pool.give(conn);
  }
}

/** Runs `users` virtual users at once; resolves when every one has its answers. */
export async function runLevel(
  users: number,
  productIds: number[],
  opts: UserOptions,
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
    Array.from({ length: users }, () => user(level, productIds, opts)),
  );
  level.wallMs = performance.now() - t0;
  progress.stop();
  return level;
}

/** The figures of one level, as the report shows them. */
export function levelRow(l: Level, stockLeft: number) {
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

/** One level in the report. */
export type Row = ReturnType<typeof levelRow>;
