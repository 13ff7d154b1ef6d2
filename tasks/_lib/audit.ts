/** The closing audit: every acknowledged order exists exactly once, nothing extra appeared, stock is conserved. */
import { getJson } from "./http.ts";

/** An order as `GET /orders` answers it (the fields the audit reads). */
export interface WireOrder {
  id: number;
  notes: string | null;
  total: number;
  status: string;
  items: { menu_item_id: number | null; quantity: number }[];
}

/** An order the client got a 200 for. */
export interface Ack {
  id: number;
  /** The notes text that names this logical order uniquely within the run. */
  notes: string;
}

/** Result of comparing the acknowledgements with the database. */
export interface OrderAudit {
  acknowledged: number;
  /** Orders of this run found in the database. */
  found: number;
  /** Acknowledged orders missing from the database. */
  lost: number;
  /** Extra copies: orders of this run beyond the first with the same notes. */
  duplicated: number;
  /** Acknowledged ids whose database row carries other notes. */
  mismatched: number;
  /** Orders of this run in the database that no client saw acknowledged. */
  unacknowledged: number;
  /** Up to 10 examples of each problem. */
  samples: { lost: Ack[]; duplicated: string[]; unacknowledged: number[] };
}

/** Stock of one tracked item before and after. */
export interface StockAudit {
  item_id: number;
  initial: number;
  /** Sum of the item's quantities over acknowledged orders. */
  sold_acknowledged: number;
  /** Sum over this run's orders present in the database. */
  sold_in_database: number;
  remaining: number;
  /** initial − sold_in_database = remaining, and every sale was acknowledged. */
  conserved: boolean;
}

/** The newest order id (0 when there are none): orders of a run have larger ids. */
export async function newestOrderId(base: string): Promise<number> {
  const { body } = await getJson<WireOrder[]>(`${base}/orders?limit=1`);
  return body[0]?.id ?? 0;
}

/** Every order with an id above `afterId`, following the `Link: rel="next"` pages. */
export async function ordersAfter(
  base: string,
  afterId: number,
): Promise<WireOrder[]> {
  const out: WireOrder[] = [];
  let next: string | null = `${base}/orders?limit=1000`;
  while (next) {
    const { body, headers } = await getJson<WireOrder[]>(next);
    const page = body.filter((o) => o.id > afterId);
    out.push(...page);
    if (page.length < body.length || body.length === 0) break;
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(headers.get("link") ?? "");
    next = link ? new URL(link[1]!, base).href : null;
  }
  return out;
}

/** Compares acknowledgements with the run's orders in the database (`mine`). */
export function auditOrders(acks: Ack[], mine: WireOrder[]): OrderAudit {
  const byId = new Map(mine.map((o) => [o.id, o]));
  const byNotes = new Map<string, number>();
  for (const o of mine) {
    byNotes.set(o.notes ?? "", (byNotes.get(o.notes ?? "") ?? 0) + 1);
  }
  const ackedIds = new Set(acks.map((a) => a.id));
  const lost = acks.filter((a) => !byId.has(a.id));
  const mismatched = acks.filter((a) =>
    byId.has(a.id) && byId.get(a.id)!.notes !== a.notes
  );
  const dupNotes = [...byNotes].filter(([, n]) => n > 1);
  const unacked = mine.filter((o) => !ackedIds.has(o.id)).map((o) => o.id);
  return {
    acknowledged: acks.length,
    found: mine.length,
    lost: lost.length,
    duplicated: dupNotes.reduce((s, [, n]) => s + n - 1, 0),
    mismatched: mismatched.length,
    unacknowledged: unacked.length,
    samples: {
      lost: lost.slice(0, 10),
      duplicated: dupNotes.slice(0, 10).map(([notes]) => notes),
      unacknowledged: unacked.slice(0, 10),
    },
  };
}

function quantityOf(orders: WireOrder[], itemId: number): number {
  let sum = 0;
  for (const o of orders) {
    for (const l of o.items) if (l.menu_item_id === itemId) sum += l.quantity;
  }
  return sum;
}

/** Reads the item's stock now and checks it against the run's orders. */
export async function auditStock(
  base: string,
  item: { id: number; initial: number },
  acks: Ack[],
  mine: WireOrder[],
): Promise<StockAudit> {
  const { body } = await getJson<{ stock: number | null }>(
    `${base}/menu/${item.id}`,
  );
  const acked = new Set(acks.map((a) => a.id));
  const soldDb = quantityOf(mine, item.id);
  const soldAcked = quantityOf(mine.filter((o) => acked.has(o.id)), item.id);
  const remaining = body.stock ?? NaN;
  return {
    item_id: item.id,
    initial: item.initial,
    sold_acknowledged: soldAcked,
    sold_in_database: soldDb,
    remaining,
    conserved: item.initial - soldDb === remaining && soldAcked === soldDb,
  };
}

/** True when nothing was lost, doubled, mismatched or left unacknowledged, and stock adds up. */
export function auditPassed(a: OrderAudit, stock?: StockAudit): boolean {
  return a.lost === 0 && a.duplicated === 0 && a.mismatched === 0 &&
    a.unacknowledged === 0 && (stock?.conserved ?? true);
}

/** The audit as Markdown lines. */
export function auditMarkdown(a: OrderAudit, stock?: StockAudit): string {
  const lines = [
    `| check | result |`,
    `|---|---:|`,
    `| acknowledged orders (HTTP 200) | ${a.acknowledged} |`,
    `| orders of this run in the database | ${a.found} |`,
    `| lost (acknowledged, not in the database) | ${a.lost} |`,
    `| duplicated (extra copies of one logical order) | ${a.duplicated} |`,
    `| mismatched (acknowledged id holds another order) | ${a.mismatched} |`,
    `| in the database but never acknowledged | ${a.unacknowledged} |`,
  ];
  if (stock) {
    lines.push(
      `| stock: initial | ${stock.initial} |`,
      `| stock: sold (acknowledged orders) | ${stock.sold_acknowledged} |`,
      `| stock: sold (orders in the database) | ${stock.sold_in_database} |`,
      `| stock: remaining | ${stock.remaining} |`,
      `| stock conserved (initial − sold = remaining) | ${
        stock.conserved ? "yes" : "**NO**"
      } |`,
    );
  }
  const s = a.samples;
  if (s.lost.length) {
    lines.push(
      "",
      `Lost (sample): ${s.lost.map((l) => `#${l.id} "${l.notes}"`).join(", ")}`,
    );
  }
  if (s.duplicated.length) {
    lines.push(
      "",
      `Duplicated (sample): ${s.duplicated.map((n) => `"${n}"`).join(", ")}`,
    );
  }
  if (s.unacknowledged.length) {
    lines.push(
      "",
      `Never acknowledged (sample ids): ${s.unacknowledged.join(", ")}`,
    );
  }
  return lines.join("\n");
}
