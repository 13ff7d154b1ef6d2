import { ConflictError } from "./errors.ts";

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
