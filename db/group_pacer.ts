/**
 * Spacing of order groups under load.
 *
 * A group-commit loop that starts the next group as soon as it has an order
 * runs as many groups as the machine allows: small ones, each paying the full
 * fixed cost of a transaction (its statements, the WAL frames of every
 * table's last page, the flush, an answer to the HTTP thread, a push to every
 * kitchen screen). On the 2-core machines, where the database thread, the
 * HTTP thread and the load generator share the cores, that time is taken from
 * the others: at 6,000 orders/s the libSQL writer committed about 390 times a
 * second, about 15 orders a group.
 *
 * After a group of two or more orders (a rush), the next group starts no
 * sooner than `intervalMs` after it started, so the orders arriving meanwhile
 * gather into it. After a group of one (a quiet moment, or one client placing
 * orders one after another) the next starts at once.
 */

/**
 * Default interval of libSQL order groups. At `--rate 6000` against no
 * pacing, alternated: 4 ms took the server from about 185 to 160–167 µs of CPU
 * an order and the machine from 76 % to 65–68 % busy; 6 ms to 155–158 µs and
 * 62–64 %, with the median order about 4 ms slower.
 */
export const GROUP_INTERVAL_MS = 5;

/** When the next group of a group-commit loop may start. */
export class GroupPacer {
  #lastStart = -Infinity;
  #lastSize = 0;

  /** @param intervalMs least time between the starts of groups in a rush; 0 turns pacing off */
  constructor(readonly intervalMs: number) {}

  /** Records that a group of `size` orders started now. */
  started(size: number): void {
    this.#lastStart = performance.now();
    this.#lastSize = size;
  }

  /** Milliseconds to wait before the next group starts (0: start now). */
  delay(): number {
    if (this.#lastSize < 2) return 0;
    return Math.max(0, this.#lastStart + this.intervalMs - performance.now());
  }
}
