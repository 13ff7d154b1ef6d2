/**
 * The gate in front of the order-list reads (`GET /api/orders`, `/orders`,
 * `/kitchen/orders`, the WebSocket's `initial`). One list can be a thousand
 * orders: a flood of them used to run all at once, fill the database thread
 * or pool ahead of `/health` and new orders, and hold a copy per request.
 * Here at most a few run at a time, requests for the same list that arrive
 * while one waits share its answer, and the excess is refused with 503.
 */
import { UnavailableError } from "../domain/errors.ts";
import type { Store } from "../db/store.ts";

/** Limits of a gate. */
export interface ListGateOptions {
  /** Reads running at once (default 2: a database thread or pool stays free for orders). */
  concurrency?: number;
  /** Distinct reads waiting for a turn before more are refused (default 32). */
  maxQueue?: number;
  /** How long a read may wait for its turn before it is refused (default 3 s). */
  maxWaitMs?: number;
}

interface Flight<T> {
  promise: Promise<T>;
}

const DEFAULTS: Required<ListGateOptions> = {
  concurrency: 2,
  maxQueue: 32,
  maxWaitMs: 3000,
};

function busy(): UnavailableError {
  return new UnavailableError(
    "Too many order lists are being read right now; retry shortly",
    1,
  );
}

/** Bounds concurrent list reads and shares identical ones. */
export class ListGate {
  #opts: Required<ListGateOptions>;
  #running = 0;
  #queue: (() => void)[] = [];
  /** Per key, the read that has not started yet: newcomers join it. */
  #waiting = new Map<string, Flight<unknown>>();

  /** @param opts limits */
  constructor(opts: ListGateOptions = {}) {
    this.#opts = { ...DEFAULTS, ...opts };
  }

  /** Runs `read` when a turn is free; rejects with `UnavailableError` when too many wait. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    await this.#turn();
    try {
      return await read();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  /**
   * Runs `read` for `key`, or joins a read of the same key that has not
   * started yet. Every caller gets a read that started after it called, so
   * an order acknowledged before the request is always in its answer.
   */
  shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const waiting = this.#waiting.get(key) as Flight<T> | undefined;
    if (waiting) return waiting.promise;
    const flight: Flight<T> = {
      promise: this.run(() => {
        // From here on newcomers must not join: this read may already miss
        // what they just wrote.
        if (this.#waiting.get(key) === flight) this.#waiting.delete(key);
        return read();
      }).finally(() => {
        if (this.#waiting.get(key) === flight) this.#waiting.delete(key);
      }),
    };
    this.#waiting.set(key, flight);
    return flight.promise;
  }

  #turn(): Promise<void> {
    if (this.#running < this.#opts.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.#opts.maxQueue) {
      return Promise.reject(busy());
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        clearTimeout(timer);
        this.#running++;
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.#queue.indexOf(go);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(busy());
      }, this.#opts.maxWaitMs);
      this.#queue.push(go);
    });
  }
}

const GATES = new WeakMap<Store, ListGate>();

/** The one list gate of `store` in this process (the store is what it protects). */
export function listGateOf(store: Store): ListGate {
  let gate = GATES.get(store);
  if (!gate) {
    gate = new ListGate();
    GATES.set(store, gate);
  }
  return gate;
}
