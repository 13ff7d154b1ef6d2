/**
 * The single writer of a libSQL database: one connection, an in-process queue
 * and group commit. Concurrent write transactions on separate libSQL
 * connections mostly fail with SQLITE_BUSY, and a busy_timeout wait blocks the
 * event loop, so every write goes through here instead.
 */
import type { Client, InArgs, Row, Transaction } from "@libsql/client";
import { setImmediate } from "node:timers";
import { UnavailableError } from "../../domain/errors.ts";

/**
 * Runs SQL on one connection; `all` returns rows, `run` the change count,
 * `insert` the rowid of the last row inserted (cheaper than `RETURNING id`).
 */
export interface Sql {
  all(sql: string, args?: InArgs): Promise<Row[]>;
  run(sql: string, args?: InArgs): Promise<number>;
  insert(sql: string, args?: InArgs): Promise<number>;
}

/** The writer's view inside a job: SQL plus the event log of this transaction. */
export interface WriteTx extends Sql {
  /** Appends to the event log in the current transaction. */
  event(type: string, data: unknown): Promise<void>;
  /** Appends several events, in order, with one statement. */
  events(list: { type: string; data: unknown }[]): Promise<void>;
  /** The job's clock: one timestamp per job keeps its rows consistent. */
  readonly now: number;
}

interface Job {
  fn: (tx: WriteTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Wraps a libSQL client as `Sql`. */
export function sqlOf(client: Client): Sql {
  return {
    async all(sql, args) {
      return (await client.execute({ sql, args: args ?? [] })).rows;
    },
    async run(sql, args) {
      return (await client.execute({ sql, args: args ?? [] })).rowsAffected;
    },
    async insert(sql, args) {
      return Number(
        (await client.execute({ sql, args: args ?? [] })).lastInsertRowid,
      );
    },
  };
}

/**
 * A libSQL client over HTTP or WebSocket (`libsql:`, `http(s):`, `ws(s):`)
 * keeps no session between `execute` calls: `BEGIN IMMEDIATE` through plain
 * `execute` opens and ends a transaction on its own, and the statements after
 * it autocommit. This `Sql` gives the writer (and `migrate`) a session back:
 * `BEGIN …` opens `client.transaction("write")`, every statement until
 * `COMMIT`/`ROLLBACK` runs on it (SAVEPOINT, RELEASE and ROLLBACK TO included),
 * and `COMMIT`/`ROLLBACK` end it. One caller at a time, like the writer.
 */
export function sessionOf(client: Client): Sql {
  let tx: Transaction | null = null;
  const end = async (how: "commit" | "rollback") => {
    const t = tx!;
    tx = null;
    try {
      await t[how]();
    } finally {
      t.close();
    }
  };
  const execute = async (sql: string, args?: InArgs) => {
    const verb = /^\s*(\w+)(\s+TO\b)?/i.exec(sql);
    const word = verb?.[1]?.toUpperCase();
    if (word === "BEGIN") {
      if (tx) throw new Error("BEGIN inside a transaction");
      tx = await client.transaction(
        /DEFERRED/i.test(sql) ? "deferred" : "write",
      );
      return { rows: [] as Row[], rowsAffected: 0 };
    }
    if (tx && (word === "COMMIT" || word === "END")) {
      await end("commit");
      return { rows: [] as Row[], rowsAffected: 0 };
    }
    if (tx && word === "ROLLBACK" && !verb?.[2]) {
      await end("rollback");
      return { rows: [] as Row[], rowsAffected: 0 };
    }
    return await (tx ?? client).execute({ sql, args: args ?? [] });
  };
  return {
    async all(sql, args) {
      return (await execute(sql, args)).rows;
    },
    async run(sql, args) {
      return (await execute(sql, args)).rowsAffected;
    },
    async insert(sql, args) {
      const res = await execute(sql, args);
      return Number("lastInsertRowid" in res ? res.lastInsertRowid : 0);
    },
  };
}

/**
 * `value` as one JSON parameter for `json_each`. SQLite turns a `\uD800`
 * escape into bytes that are not UTF-8, which the driver cannot read back
 * (it aborts the process), so text with an unpaired surrogate is refused
 * here; a bound string parameter stores U+FFFD instead. The HTTP routes
 * refuse such text before it reaches a store.
 */
export function jsonParam(value: unknown): string {
  const json = JSON.stringify(value);
  if (/\\u[dD][89a-fA-F]/.test(json)) {
    throw new Error("text with an unpaired surrogate cannot be batched");
  }
  return json;
}

/** Options of the group-commit writer. */
export interface WriterOptions {
  /** Most jobs in one transaction. */
  maxBatch?: number;
  /** Called after a commit in which some job appended events. */
  onEvents?: () => void;
  /** How long to keep retrying BEGIN while another process holds the lock. */
  busyWaitMs?: number;
}

const isBusy = (e: unknown) =>
  /SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(
    `${(e as { code?: string }).code ?? ""} ${(e as Error).message ?? ""}`,
  );

/** Serialises writes onto one connection and commits them in groups. */
export class GroupWriter {
  #queue: Job[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;
  #sql: Sql;
  #maxBatch: number;
  #busyWaitMs: number;
  #onEvents: () => void;

  /**
   * @param sql the one connection that writes
   * @param opts batch size, event callback, lock wait
   */
  constructor(sql: Sql, opts: WriterOptions = {}) {
    this.#sql = sql;
    this.#maxBatch = opts.maxBatch ?? 512;
    this.#busyWaitMs = opts.busyWaitMs ?? 5000;
    this.#onEvents = opts.onEvents ?? (() => {});
  }

  /** Queues `fn` to run in a group transaction; resolves after COMMIT. */
  run<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new UnavailableError("The server is shutting down"),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        fn,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      // The flag is cleared in the same tick the loop sees an empty queue, so no job is stranded.
      if (!this.#draining) this.#draining = this.#drain();
    });
  }

  /** Number of jobs waiting for the next batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Stops taking jobs and waits until every queued job is committed. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // Let the requests that already arrived enqueue, or every batch
        // holds a single job. An immediate runs after pending I/O and
        // messages; a chained setTimeout(0) idled the writer ~2 ms a batch.
        await new Promise((r) => setImmediate(r));
        const batch = this.#queue.splice(0, this.#maxBatch);
        await this.#runBatch(batch);
      }
    } finally {
      this.#draining = null;
    }
  }

  async #begin(): Promise<void> {
    const deadline = Date.now() + this.#busyWaitMs;
    for (let wait = 2;; wait = Math.min(wait * 2, 100)) {
      try {
        await this.#sql.run("BEGIN IMMEDIATE");
        return;
      } catch (e) {
        if (!isBusy(e) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async #runBatch(batch: Job[]): Promise<void> {
    try {
      await this.#begin();
    } catch (e) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "begin failed",
          error: String(e),
        }),
      );
      const err = new UnavailableError("The database is busy, try again");
      for (const job of batch) job.reject(err);
      return;
    }
    const outcomes: { ok: boolean; value: unknown }[] = [];
    let events = 0;
    try {
      events = await this.#runJobs(batch, outcomes);
      await this.#sql.run("COMMIT");
    } catch (e) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "commit failed",
          error: String(e),
        }),
      );
      await this.#sql.run("ROLLBACK").catch(() => {});
      const err = new UnavailableError(
        "The write could not be saved, try again",
      );
      batch.forEach((job, i) =>
        job.reject(outcomes[i]?.ok === false ? outcomes[i]?.value : err)
      );
      return;
    }
    if (events > 0) this.#onEvents();
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.value);
    });
  }

  /** Runs each job under its own savepoint; resolves to how many events they appended. */
  async #runJobs(
    batch: Job[],
    outcomes: { ok: boolean; value: unknown }[],
  ): Promise<number> {
    let events = 0;
    for (const job of batch) {
      const tx: WriteTx = {
        ...this.#sql,
        now: Date.now(),
        event: async (type, data) => {
          events++;
          await this.#sql.run(
            "INSERT INTO events (type, data, created_at) VALUES (?, ?, ?)",
            [type, JSON.stringify(data), tx.now],
          );
        },
        events: async (list) => {
          if (list.length === 0) return;
          events += list.length;
          await this.#sql.run(
            `INSERT INTO events (type, data, created_at)
             SELECT value ->> 0, value ->> 1, ? FROM json_each(?) ORDER BY key`,
            [
              tx.now,
              jsonParam(list.map((e) => [e.type, JSON.stringify(e.data)])),
            ],
          );
        },
      };
      const before = events;
      await this.#sql.run("SAVEPOINT job");
      try {
        const value = await job.fn(tx);
        await this.#sql.run("RELEASE job");
        outcomes.push({ ok: true, value });
      } catch (e) {
        events = before;
        await this.#sql.run("ROLLBACK TO job");
        await this.#sql.run("RELEASE job");
        outcomes.push({ ok: false, value: e });
      }
    }
    return events;
  }
}
