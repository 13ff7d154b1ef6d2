/**
 * Event fan-out across instances. After a COMMIT that appended events, an
 * instance wakes its own `onEvents` listeners and sends `NOTIFY
 * forkflow_events`; every instance LISTENs on a dedicated connection and wakes
 * its listeners, which read the events table by id. The driver re-LISTENs
 * after the connection drops and calls `onlisten` each time: listeners are
 * woken then too, because notifications sent meanwhile are lost, and reading
 * by id replays exactly what was missed.
 *
 * NOTIFY goes out right after COMMIT, not inside the transaction: PostgreSQL
 * serialises the commits of notifying transactions (a database-wide lock held
 * through the WAL flush), which halved write throughput when measured. One
 * NOTIFY is in flight at a time per instance; commits meanwhile share the next.
 */
import type { Sql } from "postgres";

/** The NOTIFY channel that tells other instances new events were committed. */
export const EVENTS_CHANNEL = "forkflow_events";

/** Listeners of one store, woken by local commits and by other instances. */
export class PgEventFanout {
  /** Tags this instance's NOTIFYs so it does not wake itself twice. */
  readonly origin: string = crypto.randomUUID();
  #listeners = new Set<() => void>();
  #unlisten: (() => Promise<void>) | null = null;
  #scheduled = false;
  #stopped = false;
  #notifying: Promise<unknown> | null = null;
  #notifyAgain = false;
  /** How many times LISTEN was (re-)established. */
  listens = 0;

  /** @param sql the pool; the driver opens its own LISTEN connection from its options */
  constructor(readonly sql: Sql) {}

  /** Starts listening; resolves once the first LISTEN is in place. */
  async start(): Promise<void> {
    const req = await this.sql.listen(
      EVENTS_CHANNEL,
      (payload) => {
        if (payload !== this.origin) this.#schedule();
      },
      () => {
        this.listens++;
        // Nothing can have been missed before the first LISTEN.
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

  /** After a local COMMIT that appended events: wake local listeners, tell the others. */
  committed(): void {
    this.fire();
    this.#notify();
  }

  /** Wakes every listener now. */
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

  #notify(): void {
    if (this.#stopped) return;
    if (this.#notifying) {
      this.#notifyAgain = true;
      return;
    }
    // A lost NOTIFY only delays other instances until the next one or their re-LISTEN.
    this.#notifying = this
      .sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${this.origin})`
      .catch(() => {})
      .finally(() => {
        this.#notifying = null;
        if (this.#notifyAgain) {
          this.#notifyAgain = false;
          this.#notify();
        }
      });
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

  /** Stops notifying and listening (the pool's `end()` closes the LISTEN connection). */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#notifying) await this.#notifying;
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = null;
  }
}
