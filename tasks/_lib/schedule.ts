/**
 * When each iteration of a paced (`--rate`) run is due.
 *
 * A server that has just started runs cold (its JIT has compiled nothing, its
 * pools are empty) and takes fewer orders per second than it will a few
 * seconds later. Offered the full rate from the first millisecond, it builds
 * a queue it then drains only as fast as its spare capacity allows: at 6,000
 * orders/s on a server that takes 6,800, a one-second backlog takes about
 * eight seconds to clear, so the measured window would time the start-up
 * instead of the sustained rate. The warm-up therefore ramps the offered rate
 * linearly from `RAMP_FROM` of the target to all of it, and the measured
 * window starts at the full rate.
 *
 * @module
 */

/** Share of the target rate offered at the start of the warm-up. */
export const RAMP_FROM = 0.1;

/**
 * Milliseconds after the start at which iteration `k` (0-based) is due, for
 * `everyMs` between iterations at the full rate, reached after `rampMs`.
 */
export function dueAfter(k: number, everyMs: number, rampMs: number): number {
  const full = 1 / everyMs; // iterations per ms
  const start = RAMP_FROM * full;
  const inRamp = rampMs * (start + full) / 2;
  if (rampMs <= 0 || k >= inRamp) {
    return Math.max(0, rampMs) + (k - Math.max(0, inRamp)) * everyMs;
  }
  // Iterations offered by t: start·t + (full − start)·t² / (2·rampMs) = k.
  const a = (full - start) / (2 * rampMs);
  return (-start + Math.sqrt(start * start + 4 * a * k)) / (2 * a);
}
