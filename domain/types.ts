/** Domain types shared by routes and stores. Money is integer cents; times are epoch ms. */
import type { OrderStatus } from "./order_status.ts";

/** A dish or drink on the menu. `stock: null` means stock is not tracked. */
export interface MenuItem {
  id: number;
  name: string;
  description: string;
  priceCents: number;
  category: string;
  available: boolean;
  stock: number | null;
  createdAt: number;
  updatedAt: number;
  /**
   * The stored name key (`domain/name_key.ts`), as read from the database:
   * a row kept from before keys may hold a `duplicateKey` instead.
   */
  nameKey?: string;
}

/** Fields of a new menu item. */
export interface MenuItemInput {
  name: string;
  description: string;
  priceCents: number;
  category: string;
  available: boolean;
  stock: number | null;
}

/** Fields a menu update may change. */
export type MenuItemPatch = Partial<MenuItemInput>;

/** One line of an order, priced at the moment it was placed. */
export interface OrderLine {
  id: number;
  menuItemId: number | null;
  name: string;
  quantity: number;
  /** null for free-text lines that match no menu item (table-order API). */
  unitPriceCents: number | null;
  notes: string | null;
  /**
   * Stock this line took from its menu item when it was placed (0 for an
   * untracked or unlinked item): exactly what cancelling gives back. Not on
   * the wire.
   */
  stockTaken: number;
}

/** Which surface created an order. */
export type OrderSource = "pos" | "table";

/** An order with its lines. */
export interface Order {
  id: number;
  status: OrderStatus;
  customerName: string | null;
  table: string | null;
  notes: string | null;
  totalCents: number;
  version: number;
  source: OrderSource;
  items: OrderLine[];
  createdAt: number;
  updatedAt: number;
}

/** A requested line: by menu id (native API) or by free-text name (table-order API). */
export type OrderLineInput =
  & { quantity: number; notes?: string | null }
  & ({ menuItemId: number; name?: undefined } | {
    name: string;
    menuItemId?: undefined;
  });

/** What a caller asks for when placing an order. */
export interface NewOrder {
  items: OrderLineInput[];
  customerName?: string | null;
  table?: string | null;
  notes?: string | null;
  source?: OrderSource;
}

/** What placing an order answered: the response to send, maybe replayed. */
export interface Placed {
  orderId: number;
  status: number;
  body: unknown;
  /** `body` already serialised, when the store has it as text (the libSQL database thread). */
  json?: string;
  replayed: boolean;
}

/** A stocked ingredient or supply. */
export interface InventoryItem {
  id: number;
  name: string;
  quantity: number;
  unit: string;
  lowThreshold: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Fields of a new inventory item. */
export interface InventoryInput {
  name: string;
  quantity: number;
  unit: string;
  lowThreshold: number | null;
}

/** An inventory change: relative, absolute, and/or a new threshold. */
export interface InventoryChange {
  delta?: number;
  quantity?: number;
  lowThreshold?: number | null;
}

/** One entry of the append-only event log that feeds the live screens. */
export interface FeedEvent {
  id: number;
  type: string;
  data: unknown;
  /**
   * `data` as JSON text on one line, when the store read it as such (the
   * libSQL database thread): streams send it as is instead of stringifying.
   */
  dataJson?: string;
  createdAt: number;
}

/** Filters of the order list; `before` is an order id cursor (newest first). */
export interface OrderQuery {
  statuses?: OrderStatus[];
  limit: number;
  before?: number;
}
