/** Coordinates requests that share an idempotency key inside this process. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Placed } from "../domain/types.ts";
import { KeySlots } from "../domain/churn_tables.ts";
import { InFlightError } from "../domain/errors.ts";
import { type IdemKey, idemKeyFor } from "../domain/idempotency.ts";

/**
 * A second request with the key of one still running waits for it (up to
 * `waitMs`) and then runs, which the store answers as a replay; if the first
 * is still running after the wait, the second gets a 409 with `Retry-After`.
 */
export class InFlight {
  // Not a Map: see `KeySlots` (one entry per order, thousands a second).
  #running = new KeySlots<Promise<unknown>>();

  /** @param waitMs how long a duplicate waits for the original */
  constructor(readonly waitMs = 2000) {}

  /** Runs `fn` under `idem`; without a key it just runs. */
  async run<T>(idem: IdemKey | null, fn: () => Promise<T>): Promise<T> {
    if (!idem) return fn();
    const id = `${idem.scope}\n${idem.key}`;
    const running = this.#running.get(id);
    if (running) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        running.then(() => true, () => true),
        new Promise<false>((r) =>
          timer = setTimeout(() => r(false), this.waitMs)
        ),
      ]);
      clearTimeout(timer);
      if (!done) {
        throw new InFlightError(
          `A request with Idempotency-Key "${idem.key}" is still being processed`,
          1,
        );
      }
      return this.run(idem, fn);
    }
    const p = fn();
    this.#running.set(id, p);
    try {
      return await p;
    } finally {
      if (this.#running.get(id) === p) this.#running.delete(id);
    }
  }
}

/** Reads the request's `Idempotency-Key` for `scope` (400 when malformed). */
export function idemKeyOf(
  c: Context,
  scope: string,
  body: unknown,
): Promise<IdemKey | null> {
  return idemKeyFor(scope, c.req.header("idempotency-key"), body);
}

/** Marks a replayed response. */
export function markReplay(c: Context, replayed: boolean): void {
  if (replayed) c.header("Idempotent-Replayed", "true");
}

/** The answer of a placed order: its stored status and body, marked when replayed. */
export function placedResponse(c: Context, placed: Placed): Response {
  markReplay(c, placed.replayed);
  const status = placed.status as ContentfulStatusCode;
  if (placed.json === undefined) return c.json(placed.body as never, status);
  return c.body(placed.json, status, { "Content-Type": "application/json" });
}
