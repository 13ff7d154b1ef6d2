import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
} from "./errors.ts";

/** Every state an order can be in. */
export const ORDER_STATUSES = [
  "pending",
  "in_progress",
  "ready",
  "completed",
  "cancelled",
] as const;

/** One state of an order's lifecycle. */
export type OrderStatus = typeof ORDER_STATUSES[number];

/** States the kitchen still has to act on. */
export const ACTIVE_STATUSES: readonly OrderStatus[] = [
  "pending",
  "in_progress",
  "ready",
];

const NEXT: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ["in_progress", "cancelled"],
  in_progress: ["ready", "cancelled"],
  // ready -> in_progress is the kitchen's "recall"
  ready: ["completed", "in_progress"],
  completed: [],
  cancelled: [],
};

/** Whether an order may move from `from` to `to`. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

/** Throws a 409-mapped error naming both states when the move is illegal. */
export function assertTransition(
  from: OrderStatus,
  to: OrderStatus,
  opts: { orderId: number },
): void {
  if (canTransition(from, to)) return;
  throw new ConflictError(
    "illegal_transition",
    `Order "${opts.orderId}" cannot move from "${from}" to "${to}"`,
    { from, to, allowed: NEXT[from] },
  );
}

/**
 * Checks a requested status change against the stored order: 404 when it does
 * not exist, 412 when `ifVersion` is stale, 409 when the move is illegal.
 */
export function checkStatusChange(
  order: { status: OrderStatus; version: number } | null,
  change: { id: number; status: OrderStatus; ifVersion?: number },
): asserts order is { status: OrderStatus; version: number } {
  const { id, status, ifVersion } = change;
  if (!order) {
    throw new NotFoundError("order_not_found", `Order "${id}" does not exist`);
  }
  if (ifVersion !== undefined && ifVersion !== order.version) {
    throw new PreconditionFailedError(
      "version_mismatch",
      `Order "${id}" was changed by someone else (version ${order.version}, not ${ifVersion})`,
      { current_version: order.version, status: order.status },
    );
  }
  assertTransition(order.status, status, { orderId: id });
}
