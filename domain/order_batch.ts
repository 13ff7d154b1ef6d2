/**
 * The store-independent half of group-committed orders: which queued orders
 * share a batch, and how each is priced against the menu rows the batch
 * transaction read, in arrival order, with exactly the rules of one order at
 * a time (stock reaching 0 makes an item unavailable for the next order).
 * The PostgreSQL and libSQL batches write the result with their own SQL.
 */
import type { IdemKey } from "./idempotency.ts";
import { menuLookup, priceOrder } from "./pricing.ts";
import type { MenuItem, NewOrder, Order, Placed } from "./types.ts";
import { menuItemJson, type OrderJson } from "./wire.ts";

/** One order waiting for a batch. */
export interface OrderJob {
  input: NewOrder;
  idempotency: IdemKey | null;
  status: number;
  /** The response body; `native` is the order's own JSON, when the caller has it. */
  render: (order: Order, native?: OrderJson) => unknown;
  resolve: (placed: Placed) => void;
  reject: (e: unknown) => void;
}

/** An order the batch accepted: what it needs written. */
export interface Accepted {
  job: OrderJob;
  /** Ids are 0 until the store draws them. */
  order: Order;
  /** Events to append before the order's own `order.created`. */
  events: { t: string; d: unknown }[];
  /** Tracked menu items whose stock this order took. */
  taken: number[];
  /** The response body, rendered once the ids are known. */
  body?: unknown;
}

/** Map key of an idempotency key. */
export const keyOf = (k: { scope: string; key: string }): string =>
  `${k.scope}\n${k.key}`;

/**
 * Splits `queue` into the next batch (at most `max` jobs, in arrival order)
 * and the rest. A job whose key is already in the batch waits for the next
 * one, where it finds the first job's outcome and replays it.
 */
export function takeBatch(
  queue: OrderJob[],
  max: number,
): { batch: OrderJob[]; rest: OrderJob[] } {
  const batch: OrderJob[] = [];
  const rest: OrderJob[] = [];
  const keys = new Set<string>();
  for (const job of queue) {
    const k = job.idempotency ? keyOf(job.idempotency) : null;
    if (batch.length >= max || (k !== null && keys.has(k))) {
      rest.push(job);
      continue;
    }
    if (k !== null) keys.add(k);
    batch.push(job);
  }
  return { batch, rest };
}

/**
 * Prices `job` against the batch's menu rows and takes its stock from them
 * (`items` is updated in place). Throws the order's own 409/422 when it is
 * refused; nothing is taken then.
 */
export function priceJob(
  job: OrderJob,
  items: Map<number, MenuItem>,
  at: number,
): Accepted {
  const priced = priceOrder(job.input.items, menuLookup([...items.values()]));
  const events: { t: string; d: unknown }[] = [];
  const taken: number[] = [];
  for (const { item, quantity } of priced.demand.values()) {
    taken.push(item.id);
    const stock = item.stock! - quantity;
    const next = {
      ...item,
      stock,
      available: stock === 0 ? false : item.available,
      updatedAt: at,
    };
    items.set(item.id, next);
    if (stock === 0) events.push({ t: "menu.updated", d: menuItemJson(next) });
  }
  const order: Order = {
    id: 0,
    status: "pending",
    customerName: job.input.customerName ?? null,
    table: job.input.table ?? null,
    notes: job.input.notes ?? null,
    totalCents: priced.totalCents,
    version: 1,
    source: job.input.source ?? "pos",
    items: priced.lines.map((l) => ({ ...l, id: 0 })),
    createdAt: at,
    updatedAt: at,
  };
  return { job, order, events, taken };
}
