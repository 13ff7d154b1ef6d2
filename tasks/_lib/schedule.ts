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
 * linearly from `RAMP_FROM` of the target to all of it.
 *
 * The ramp takes the first `RAMP_SHARE` of the warm-up, and the rest holds the
 * full rate. The first second or two at a new, high rate is slow too: at
 * 6,000/s on libSQL the per-second p99 rose to 50–160 ms in the second after
 * the ramp ended, in most runs, and settled to 20–40 ms after it (the
 * server's own handling time rose with it, so it is the server adapting, not
 * the client). Held inside the warm-up, that second is audited but not timed.
 *
 * @module
 */

/** Share of the target rate offered at the start of the warm-up. */
export const RAMP_FROM = 0.1;

/** Share of the warm-up that ramps; the rest offers the full rate. */
export const RAMP_SHARE = 0.5;

/** How long a warm-up of `warmupMs` ramps the offered rate. */
export function rampMsOf(warmupMs: number): number {
  return Math.max(0, warmupMs) * RAMP_SHARE;
}

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
