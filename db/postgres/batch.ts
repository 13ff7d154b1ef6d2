/**
 * Group commit for orders on PostgreSQL. One transaction per order holds a hot
 * stock row from its UPDATE through its WAL flush, so orders of one popular
 * item commit one after another: about 750 orders/s here (pgbench's own
 * single-row ceiling on this machine is about 2,500). Like the libSQL writer,
 * concurrent orders therefore share one transaction (`batch_tx.ts`):
 * one batch in flight per instance, the orders that arrive meanwhile form the
 * next one.
 *
 * A refused order fails alone; anything unexpected from the database rolls
 * the batch back and its orders run one by one (`placeOrderTx`).
 */
import type { Sql } from "postgres";
import { UnavailableError } from "../../domain/errors.ts";
import type { Placed } from "../../domain/types.ts";
import { type OrderJob, takeBatch } from "../../domain/order_batch.ts";
import { runOrderBatch } from "./batch_tx.ts";
import { GroupPacer } from "../group_pacer.ts";
import {
  isConnectionLost,
  reserveConnection,
  translatePgError,
} from "./pool.ts";

/**
 * Default `groupIntervalMs`. A batch here already spans its round trips (about
 * 4.5 ms at 3,000 orders/s), so a shorter interval changes little. At
 * `--rate 3000` against no pacing, alternated: 10 ms took the machine from
 * 79 % to 56–57 % busy (server 203–206 → 157–165 µs of CPU an order, client
 * 94–97 → 72–73 µs) and the median order from 8–12 to 13 ms; 20 ms to 50–52 %
 * with the median at 22 ms.
 */
export const POSTGRES_GROUP_INTERVAL_MS = 10;

/** Collects concurrent orders and commits them together. */
export class OrderBatcher {
  #queue: OrderJob[] = [];
  #running: Promise<void> | null = null;
  #pacer: GroupPacer;

  /**
   * @param sql the pool
   * @param opts `single` places one order in its own transaction (fallback);
   *   `onEvents` runs after a COMMIT that appended events
   */
  constructor(
    readonly sql: Sql,
    readonly opts: {
      single: (job: OrderJob) => Promise<Placed>;
      onEvents: () => void;
      maxBatch?: number;
      /** In a rush, the least time between the starts of batches (`GroupPacer`). */
      groupIntervalMs?: number;
    },
  ) {
    this.#pacer = new GroupPacer(
      opts.groupIntervalMs ?? POSTGRES_GROUP_INTERVAL_MS,
    );
  }

  /** Queues an order; resolves after the COMMIT that recorded it. */
  place(job: Omit<OrderJob, "resolve" | "reject">): Promise<Placed> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...job, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      // A job queued after the loop's last check but before this ran.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Shutting down: a held batch starts at once, and this waits until every queued order is settled. */
  async close(): Promise<void> {
    this.#pacer.stop();
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    // Orders arriving while a batch is in flight form the next one; no timer
    // needed (nested setTimeout(0) is clamped to 4 ms).
    await Promise.resolve();
    while (this.#queue.length > 0) {
      await this.#pacer.wait();
      const batch = this.#take();
      this.#pacer.started(batch.length);
      try {
        await this.#run(batch);
      } catch (e) {
        await this.#fallback(batch, e);
      }
    }
  }

  /** Takes up to maxBatch jobs; a key already in the batch waits for the next one (and replays). */
  #take(): OrderJob[] {
    const { batch, rest } = takeBatch(this.#queue, this.opts.maxBatch ?? 256);
    this.#queue = rest;
    return batch;
  }

  async #fallback(batch: OrderJob[], e: unknown): Promise<void> {
    if (isConnectionLost(e) || e instanceof UnavailableError) {
      const err = translatePgError(e);
      for (const job of batch) job.reject(err);
      return;
    }
    console.error(JSON.stringify({
      level: "warn",
      msg: "order batch failed; placing its orders one by one",
      error: String(e),
    }));
    await Promise.all(
      batch.map((job) => this.opts.single(job).then(job.resolve, job.reject)),
    );
  }

  async #run(batch: OrderJob[]): Promise<void> {
    const conn = await reserveConnection(this.sql);
    let settle: () => void;
    try {
      settle = await runOrderBatch(conn, batch, {
        onEvents: this.opts.onEvents,
        requeue: (job) => this.place(job).then(job.resolve, job.reject),
      });
    } catch (e) {
      // A lost connection is never written to again (porsager/postgres#1208).
      if (!isConnectionLost(e)) {
        await conn`ROLLBACK`.then(() => conn.release(), (r) => {
          if (!isConnectionLost(r)) conn.release();
        });
      }
      throw e;
    }
    conn.release();
    settle();
  }
}
