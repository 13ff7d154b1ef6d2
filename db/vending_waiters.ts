/**
 * Waiting for a vending machine (`start-work?wait_ms=`), shared by every
 * backend. Waiters queue in arrival order; only the head claims. The queue
 * wakes when a commit may have freed a machine (a reset, a new machine, an
 * event from another instance) and on a timer for the next lease end.
 */
import { UnavailableError } from "../domain/errors.ts";
import type { MachineRecord } from "../domain/vending.ts";
import { noIdleMachine } from "../domain/vending_rules.ts";
import type { StartWorkOptions } from "./vending_store.ts";

/** What the queue needs from a backend. */
export interface MachineSource {
  /** Claims the least-used idle machine, or null when none is idle. */
  claim(): Promise<MachineRecord | null>;
  /** Epoch ms when the next busy machine frees itself; null when none will. */
  nextFreeAt(): Promise<number | null>;
  /** Calls `listener` after commits that may have freed a machine; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

interface Waiter {
  resolve(m: MachineRecord | null): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
  claiming: boolean;
  expired: boolean;
  detach(): void;
}

/** Shortest pause before re-checking a lease that should already have ended. */
const MIN_WAKE_MS = 5;
/**
 * Longest pause between two looks while someone waits: a change that sends
 * no signal here (another process on the same libSQL file) is still seen.
 */
const MAX_WAKE_MS = 1000;

/** First-come, first-served waiters for idle machines. */
export class MachineQueue {
  #waiters: Waiter[] = [];
  #pumping: Promise<void> | null = null;
  #again = false;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | null = null;
  #closed = false;

  /** @param source the backend's claim and lease queries */
  constructor(readonly source: MachineSource) {}

  /** How many callers are waiting. */
  get size(): number {
    return this.#waiters.length;
  }

  /**
   * Claims a machine now, or (with `waitMs`) waits for one behind earlier
   * waiters; a caller that does not wait never overtakes a waiting one.
   * Throws the 409 "No idle vending machine available." when none comes.
   */
  async startWork(opts: StartWorkOptions = {}): Promise<MachineRecord> {
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    const m = waitMs > 0
      ? await this.wait(waitMs, opts.signal)
      : this.size > 0
      ? null
      : await this.source.claim();
    if (!m) throw noIdleMachine();
    return m;
  }

  /** Waits up to `waitMs` for a machine; null when the wait runs out or is aborted. */
  wait(waitMs: number, signal?: AbortSignal): Promise<MachineRecord | null> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#giveUp(w);
      const w: Waiter = {
        resolve,
        reject,
        claiming: false,
        expired: false,
        timer: setTimeout(() => this.#giveUp(w), waitMs),
        detach() {
          clearTimeout(w.timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(w);
      this.#unsubscribe ??= this.source.onChange(() => this.signal());
      this.signal();
    });
  }

  /** Something may have freed a machine: let the head of the queue try. */
  signal(): void {
    if (this.#waiters.length === 0) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = null;
      if (this.#again) this.signal();
      else this.#idleCheck();
    });
  }

  /** Rejects every waiter and stops the timers. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      w.detach();
      w.reject(shuttingDown());
    }
    await this.#pumping;
    this.#idleCheck();
  }

  /** The wait ran out or the client left; a head mid-claim is decided by the pump. */
  #giveUp(w: Waiter): void {
    if (w.claiming) {
      w.expired = true;
      return;
    }
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    w.detach();
    w.resolve(null);
    this.#idleCheck();
  }

  async #pump(): Promise<void> {
    clearTimeout(this.#wake);
    while (this.#waiters.length > 0 && !this.#closed) {
      this.#again = false;
      const head = this.#waiters[0]!;
      head.claiming = true;
      let machine: MachineRecord | null;
      try {
        machine = await this.source.claim();
      } catch (e) {
        this.#finish(head, () => head.reject(e));
        continue;
      } finally {
        head.claiming = false;
      }
      if (machine) {
        this.#finish(head, () => head.resolve(machine));
        continue;
      }
      if (head.expired) {
        this.#finish(head, () => head.resolve(null));
        continue;
      }
      const next = await this.source.nextFreeAt().catch(() => null);
      if (this.#again) continue;
      if (this.#waiters.length > 0) {
        const delay = next === null
          ? MAX_WAKE_MS
          : Math.min(MAX_WAKE_MS, Math.max(MIN_WAKE_MS, next - Date.now() + 1));
        this.#wake = setTimeout(() => this.signal(), delay);
      }
      return;
    }
  }

  #finish(w: Waiter, settle: () => void): void {
    const i = this.#waiters.indexOf(w);
    if (i >= 0) this.#waiters.splice(i, 1);
    w.detach();
    settle();
  }

  /** With nobody waiting, hold no timer and no subscription. */
  #idleCheck(): void {
    if (this.#waiters.length > 0 || this.#pumping) return;
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}

function shuttingDown(): UnavailableError {
  return new UnavailableError("The server is shutting down");
}
