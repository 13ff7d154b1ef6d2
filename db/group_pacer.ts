/**
 * Spacing of order groups under load.
 *
 * A group-commit loop that starts the next group as soon as it has an order
 * runs as many groups as the machine allows: small ones, each paying the full
 * fixed cost of a transaction (its statements, the WAL frames of every
 * table's last page, the flush, an answer to the HTTP thread, a push to every
 * kitchen screen). On the 2-core machines, where the server, the database
 * and the load generator share the cores, that time is taken from the others:
 * at 6,000 orders/s the libSQL writer committed about 390 times a second,
 * about 15 orders a group.
 *
 * After a group of two or more orders (a rush), the next group starts no
 * sooner than `intervalMs` after it started, so the orders arriving meanwhile
 * gather into it. After a group of one (a quiet moment, or one client placing
 * orders one after another) the next starts at once.
 */

/** When the next group of a group-commit loop may start. */
export class GroupPacer {
  #lastStart = -Infinity;
  #lastSize = 0;
  #stopped = false;
  #wake: (() => void) | null = null;

  /** @param intervalMs least time between the starts of groups in a rush; 0 turns pacing off */
  constructor(readonly intervalMs: number) {}

  /** Records that a group of `size` orders started now. */
  started(size: number): void {
    this.#lastStart = performance.now();
    this.#lastSize = size;
  }

  /** Milliseconds to wait before the next group starts (0: start now). */
  delay(): number {
    if (this.#stopped || this.#lastSize < 2) return 0;
    return Math.max(0, this.#lastStart + this.intervalMs - performance.now());
  }

  /** Resolves after `delay()`, or as soon as `stop()` is called. One wait at a time. */
  wait(): Promise<void> {
    const ms = this.delay();
    if (ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** Shutting down: a wait in progress ends now, and later groups start at once. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }
}
