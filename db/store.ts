/** The storage contract every backend implements; it speaks domain types only. */
import type { IdemKey } from "../domain/idempotency.ts";
import type { OrderView } from "../domain/wire.ts";
import type { OrderStatus } from "../domain/order_status.ts";
import type { LeaseTimes } from "../domain/vending.ts";
import type { VendingStore } from "./vending_store.ts";
import type {
  FeedEvent,
  InventoryChange,
  InventoryInput,
  InventoryItem,
  MenuItem,
  MenuItemInput,
  MenuItemPatch,
  NewOrder,
  Order,
  OrderQuery,
  Placed,
} from "../domain/types.ts";

/** How a placed order is answered and remembered under its idempotency key. */
export interface PlaceOptions {
  idempotency?: IdemKey | null;
  /** HTTP status to store with the key (default 200). */
  status?: number;
  /** Response body for the new order (default: the native order JSON). */
  view?: OrderView;
}

/** Filters of the menu list. */
export interface MenuQuery {
  category?: string;
  available?: boolean;
}

/** Which database a store talks to. */
export type { Backend } from "../domain/database_url.ts";
import type { Backend } from "../domain/database_url.ts";

/** Everything ForkFlow persists. Every state change also appends to the event log. */
export interface Store {
  readonly backend: Backend;
  /** Round-trips the database; resolves to the latency in ms. */
  ping(): Promise<number>;

  listMenu(query?: MenuQuery): Promise<MenuItem[]>;
  getMenuItem(id: number): Promise<MenuItem | null>;
  createMenuItem(input: MenuItemInput): Promise<MenuItem>;
  updateMenuItem(id: number, patch: MenuItemPatch): Promise<MenuItem>;

  /** Prices, checks and decrements stock, and records the order exactly once. */
  placeOrder(input: NewOrder, opts?: PlaceOptions): Promise<Placed>;
  getOrder(id: number): Promise<Order | null>;
  listOrders(query: OrderQuery): Promise<Order[]>;
  /** Orders the kitchen still works on, oldest first. */
  listActiveOrders(): Promise<Order[]>;
  /** Moves an order along its lifecycle; `ifVersion` guards against lost updates. */
  setOrderStatus(
    id: number,
    status: OrderStatus,
    opts?: { ifVersion?: number },
  ): Promise<Order>;

  listInventory(): Promise<InventoryItem[]>;
  createInventoryItem(input: InventoryInput): Promise<InventoryItem>;
  changeInventory(id: number, change: InventoryChange): Promise<InventoryItem>;

  /** Events with an id above `after`, oldest first. */
  listEvents(after: number, limit?: number): Promise<FeedEvent[]>;
  /** The newest event id, 0 when the log is empty. */
  lastEventId(): Promise<number>;
  /** Calls `listener` after every commit that appended events; returns an unsubscribe. */
  onEvents(listener: () => void): () => void;

  /** The vending orchestrator on this store's database and connections. */
  vending(times: LeaseTimes): VendingStore;

  /** Deletes idempotency keys older than `maxAgeMs`; resolves to how many. */
  purgeIdempotencyKeys(maxAgeMs: number): Promise<number>;
  /** Deletes every row of every table (tests and `deno task seed`). */
  wipe(): Promise<void>;
  close(): Promise<void>;
}
