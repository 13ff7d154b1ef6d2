/**
 * Event fan-out across instances: every commit that appends events sends
 * `NOTIFY forkflow_events` (see `postgres_tx.ts`); each instance LISTENs on a
 * dedicated connection and wakes its `onEvents` listeners, which read the
 * events table by id. The driver re-LISTENs after the connection drops and
 * calls `onlisten` each time: listeners are woken then too, because
 * notifications sent while the connection was down are lost, and reading by
 * id replays exactly what was missed.
 */
import type { Sql } from "postgres";
import { EVENTS_CHANNEL } from "./postgres_tx.ts";

/** Listeners of one store, woken by local commits and by other instances. */
export class PgEventFanout {
  /** Tags this instance's NOTIFYs so it does not wake itself twice. */
  readonly origin: string = crypto.randomUUID();
  #listeners = new Set<() => void>();
  #unlisten: (() => Promise<void>) | null = null;
  #scheduled = false;
  #stopped = false;
  /** How many times LISTEN was (re-)established; for tests and logs. */
  listens = 0;

  /** @param sql the pool; the driver opens its own LISTEN connection from its options */
  constructor(readonly sql: Sql) {}

  /** Starts listening; resolves once the first LISTEN is in place. */
  async start(): Promise<void> {
    const req = await this.sql.listen(
      EVENTS_CHANNEL,
      (payload) => {
        if (!payload.startsWith(`${this.origin}:`)) this.#schedule();
      },
      () => {
        this.listens++;
        // Skip the very first LISTEN: nothing can have been missed before it.
        if (this.listens > 1) this.#schedule();
      },
    );
    this.#unlisten = req.unlisten;
  }

  /** Adds a listener; returns its removal. */
  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Wakes every listener now (after a local commit). */
  fire(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (e) {
        console.error(JSON.stringify({
          level: "error",
          msg: "event listener failed",
          error: String(e),
        }));
      }
    }
  }

  /** Coalesces a burst of notifications into one wake-up. */
  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#stopped) this.fire();
    });
  }

  /** Stops listening (the pool's `end()` closes the LISTEN connection). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = null;
  }
}
