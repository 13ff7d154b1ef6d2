/** Pure order rules: resolve requested lines against the menu, price them, check stock. */
import { ConflictError, ValidationError } from "./errors.ts";
import { nameKey } from "./name_key.ts";
import type { MenuItem, NewOrder, Order, OrderLineInput } from "./types.ts";

/** A line ready to store: linked to a menu item (priced) or free text (unpriced). */
export interface PricedLine {
  menuItemId: number | null;
  name: string;
  quantity: number;
  unitPriceCents: number | null;
  notes: string | null;
  /** Stock the line takes: its quantity for a tracked item, else 0 (given back on cancel). */
  stockTaken: number;
}

/** The menu items an order refers to, by id and by name key (`nameKey`). */
export interface MenuLookup {
  byId: Map<number, MenuItem>;
  byName: Map<string, MenuItem>;
}

/** A priced order and the stock it needs per tracked menu item. */
export interface PricedOrder {
  lines: PricedLine[];
  totalCents: number;
  /** Quantity needed per tracked menu item (stock not null). */
  demand: Map<number, { item: MenuItem; quantity: number }>;
}

/**
 * Builds a lookup from the rows a store loaded. A name matches by the key
 * stored with the row, so a row that lost its key to an older one (see
 * `assignNameKeys`) is found by id only, whichever other rows were loaded.
 */
export function menuLookup(items: MenuItem[]): MenuLookup {
  return {
    byId: new Map(items.map((m) => [m.id, m])),
    byName: new Map(items.map((m) => [m.nameKey ?? nameKey(m.name), m])),
  };
}

/** Menu ids and name keys an order refers to, for the store to load. */
export function menuRefs(
  lines: OrderLineInput[],
): { ids: number[]; names: string[] } {
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const l of lines) {
    if (l.menuItemId !== undefined) ids.add(l.menuItemId);
    else names.add(nameKey(l.name));
  }
  return { ids: [...ids], names: [...names] };
}

/** The 409 for a tracked item without enough stock. */
export function outOfStock(
  item: MenuItem,
  available: number,
  wanted: number,
): ConflictError {
  const message = available <= 0
    ? `Menu item "${item.name}" is sold out`
    : `Only ${available} of "${item.name}" left`;
  return new ConflictError("out_of_stock", message, {
    menu_item_id: item.id,
    name: item.name,
    available: Math.max(0, available),
    requested: wanted,
  });
}

function resolve(line: OrderLineInput, menu: MenuLookup): MenuItem | null {
  if (line.menuItemId === undefined) {
    return menu.byName.get(nameKey(line.name)) ?? null;
  }
  const item = menu.byId.get(line.menuItemId);
  if (!item) {
    throw new ValidationError(
      "unknown_menu_item",
      `Menu item "${line.menuItemId}" does not exist`,
      { menu_item_id: line.menuItemId },
    );
  }
  return item;
}

/**
 * Prices every line from the menu (never from the client) and totals the
 * demand on tracked stock. Throws 422 for unknown ids and 409 for unavailable
 * or sold-out items, naming the item.
 */
export function priceOrder(
  lines: OrderLineInput[],
  menu: MenuLookup,
): PricedOrder {
  const priced: PricedLine[] = [];
  const demand = new Map<number, { item: MenuItem; quantity: number }>();
  let totalCents = 0;
  for (const line of lines) {
    const item = resolve(line, menu);
    const notes = line.notes ?? null;
    if (!item) {
      priced.push({
        menuItemId: null,
        name: line.name!,
        quantity: line.quantity,
        unitPriceCents: null,
        notes,
        stockTaken: 0,
      });
      continue;
    }
    if (!item.available) {
      throw new ConflictError(
        "item_unavailable",
        `Menu item "${item.name}" is not available`,
        {
          menu_item_id: item.id,
          name: item.name,
        },
      );
    }
    if (item.stock !== null) {
      const d = demand.get(item.id) ?? { item, quantity: 0 };
      d.quantity += line.quantity;
      demand.set(item.id, d);
    }
    totalCents += item.priceCents * line.quantity;
    priced.push({
      menuItemId: item.id,
      name: item.name,
      quantity: line.quantity,
      unitPriceCents: item.priceCents,
      notes,
      stockTaken: item.stock === null ? 0 : line.quantity,
    });
  }
  for (const { item, quantity } of demand.values()) {
    if (item.stock! < quantity) throw outOfStock(item, item.stock!, quantity);
  }
  return { lines: priced, totalCents, demand };
}

/** The order a store has just inserted: status pending, version 1, its lines with their ids. */
export function newOrder(
  input: NewOrder,
  priced: PricedOrder,
  stored: { id: number; lineIds: number[]; now: number },
): Order {
  return {
    id: stored.id,
    status: "pending",
    customerName: input.customerName ?? null,
    table: input.table ?? null,
    notes: input.notes ?? null,
    totalCents: priced.totalCents,
    version: 1,
    source: input.source ?? "pos",
    items: priced.lines.map((l, i) => ({ ...l, id: stored.lineIds[i]! })),
    createdAt: stored.now,
    updatedAt: stored.now,
  };
}
