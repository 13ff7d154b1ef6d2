/**
 * Which event ids are final. Event ids come from a sequence at INSERT time,
 * but transactions commit in any order: id 10 may still be in flight when 11
 * is visible, and a feed that moved past 11 would never replay 10. Serialising
 * every commit would fix that at the cost of group commit (measured: half the
 * throughput), so readers wait instead: every id up to the watermark is either
 * committed or will never exist, and the feeds read only that far.
 *
 * The watermark is computed as: read the sequence's last value M (every id
 * <= M has been handed out), then the transactions holding a write lock on
 * `events` (any transaction that took an id still holds one: INSERT locks the
 * table before it draws from the sequence), then wait until those have ended.
 * Those are only transactions in their last round trip (events are inserted
 * with COMMIT), so the wait is usually nothing or a fraction of a millisecond.
 */
import type { Sql } from "postgres";

const WRITE_MODES = `('RowExclusiveLock', 'ShareRowExclusiveLock',
  'ExclusiveLock', 'AccessExclusiveLock')`;

/** Computes fresh watermarks, one query at a time for all callers. */
export class EventWatermark {
  #running: Promise<number> | null = null;
  #queued: Promise<number> | null = null;

  /** @param sql the pool */
  constructor(readonly sql: Sql) {}

  /** A watermark computed after this call: includes every event committed before it. */
  fresh(): Promise<number> {
    if (!this.#running) return this.#start();
    // The running computation may predate the caller's commit: join the next one.
    this.#queued ??= this.#running.catch(() => {}).then(() => {
      this.#queued = null;
      return this.#start();
    });
    return this.#queued;
  }

  #start(): Promise<number> {
    const p = this.#compute().finally(() => {
      if (this.#running === p) this.#running = null;
    });
    this.#running = p;
    return p;
  }

  async #compute(): Promise<number> {
    // The sequence is read in FROM, the locks in a subquery that depends on it:
    // locks are looked at after the last id was read.
    const [row] = await this.sql.unsafe(`
      SELECT s.m, ARRAY(
        SELECT l.virtualtransaction FROM pg_locks l
        WHERE s.m IS NOT NULL AND l.locktype = 'relation'
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.relation = 'events'::regclass AND l.mode IN ${WRITE_MODES}
          AND l.pid <> pg_backend_pid()) AS holders
      FROM (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS m
            FROM events_id_seq) s`);
    let holders = row!.holders as string[];
    for (let wait = 0; holders.length > 0; wait = Math.min(wait * 2 || 1, 20)) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      const [still] = await this.sql`
        SELECT ARRAY(
          SELECT virtualtransaction FROM pg_locks
          WHERE locktype = 'relation' AND relation = 'events'::regclass
            AND virtualtransaction = ANY(${holders}::text[])) AS holders`;
      holders = still!.holders as string[];
    }
    return Number(row!.m);
  }
}
