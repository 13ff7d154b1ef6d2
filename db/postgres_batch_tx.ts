/**
 * One batch of orders in one PostgreSQL transaction (see `postgres_batch.ts`
 * for why), in three round trips:
 *
 * 1. BEGIN; claim every key (INSERT … ON CONFLICT DO NOTHING, in key order);
 *    read the outcomes of keys claimed elsewhere; lock the menu rows the batch
 *    refers to (FOR UPDATE, in id order).
 * 2. Price each order in arrival order against the locked rows (exactly the
 *    serial rules: stock reaching 0 makes an item unavailable for the next
 *    order), then draw order and line ids.
 * 3. Insert orders and lines, write the final stock, drop the claims of
 *    refused orders, store outcomes, append events, COMMIT.
 */
import type { ReservedSql } from "postgres";
import {
  type Accepted,
  keyOf,
  type OrderJob,
  priceJob,
} from "../domain/order_batch.ts";
import { menuRefs } from "../domain/pricing.ts";
import type { MenuItem } from "../domain/types.ts";
import { orderJson } from "../domain/wire.ts";
import { keyReused } from "../domain/idempotency.ts";
import { toMenuItem } from "./postgres_rows.ts";

/** What the batch transaction calls back. */
export interface BatchOptions {
  /** After a COMMIT that appended events. */
  onEvents: () => void;
  /** Places a job again (its key vanished between claim and read). */
  requeue: (job: OrderJob) => void;
}

/** Runs one batch on `conn`; resolves (after COMMIT) to the function that answers its jobs. */
export async function runOrderBatch(
  conn: ReservedSql,
  batch: OrderJob[],
  opts: BatchOptions,
): Promise<() => void> {
  const now = new Date();
  const keyed = batch.filter((j) => j.idempotency);
  const claimRows = keyed.map((j) => ({
    s: j.idempotency!.scope,
    k: j.idempotency!.key,
    f: j.idempotency!.fingerprint,
  }));
  const refs = menuRefs(batch.flatMap((j) => j.input.items));
  const begin = conn`BEGIN`.execute();
  const claimed = conn`
    INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
    SELECT x.s, x.k, x.f, ${now}
    FROM json_to_recordset(${JSON.stringify(claimRows)}::text::json)
      AS x(s text, k text, f text)
    ORDER BY x.s, x.k
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING scope, key`.execute();
  const stored = conn`
    SELECT k.scope, k.key, k.fingerprint, k.status, k.body, k.resource_id
    FROM idempotency_keys k
    JOIN json_to_recordset(${JSON.stringify(claimRows)}::text::json)
      AS x(s text, k text) ON k.scope = x.s AND k.key = x.k`.execute();
  const menu = conn`
    SELECT * FROM menu_items
    WHERE id = ANY(${refs.ids}::bigint[]) OR lower(name) = ANY(${refs.names}::text[])
    ORDER BY id FOR UPDATE`.execute();
  const [, claimedRows, storedRows, menuRows] = await Promise.all([
    begin,
    claimed,
    stored,
    menu,
  ]);
  const mine = new Set(claimedRows.map((r) => `${r.scope}\n${r.key}`));
  const outcomes = new Map(
    storedRows.map((r) => [`${r.scope}\n${r.key}`, r]),
  );
  const items = new Map(menuRows.map((r) => [Number(r.id), toMenuItem(r)]));

  const answers: (() => void)[] = [];
  const accepted: Accepted[] = [];
  const refused: OrderJob[] = [];
  for (const job of batch) {
    const k = job.idempotency ? keyOf(job.idempotency) : null;
    if (k !== null && !mine.has(k)) {
      answers.push(replayOf(job, outcomes.get(k), opts.requeue));
      continue;
    }
    try {
      accepted.push(priceJob(job, items, now.getTime()));
    } catch (e) {
      if (k !== null) refused.push(job);
      answers.push(() => job.reject(e));
    }
  }
  const writes = accepted.length > 0
    ? await writeOrders(conn, accepted, items, now)
    : [];
  await finishBatch(conn, { accepted, refused, writes }, now);
  const events = accepted.reduce((n, a) => n + a.events.length, 0);
  return () => {
    if (events > 0) opts.onEvents();
    for (const a of accepted) {
      a.job.resolve({
        orderId: a.order.id,
        status: a.job.status,
        body: a.body,
        replayed: false,
      });
    }
    for (const answer of answers) answer();
  };
}

/** Draws ids, then sends the inserts of orders and lines and the final stock. */
async function writeOrders(
  conn: ReservedSql,
  accepted: Accepted[],
  items: Map<number, MenuItem>,
  now: Date,
): Promise<Promise<unknown>[]> {
  const lineCount = accepted.reduce((n, a) => n + a.order.items.length, 0);
  const [orderIds, lineIds] = await Promise.all([
    conn`SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id
      FROM generate_series(1, ${accepted.length})`.execute(),
    conn`SELECT nextval(pg_get_serial_sequence('order_items', 'id')) AS id
      FROM generate_series(1, ${lineCount})`.execute(),
  ]);
  const oIds = orderIds.map((r) => Number(r.id)).sort((a, b) => a - b);
  const lIds = lineIds.map((r) => Number(r.id)).sort((a, b) => a - b);
  let li = 0;
  accepted.forEach((a, i) => {
    a.order.id = oIds[i]!;
    for (const line of a.order.items) line.id = lIds[li++]!;
    a.events.push({ t: "order.created", d: orderJson(a.order) });
    a.body = a.job.render(a.order);
  });
  const orders = accepted.map(({ order: o }) => ({
    id: o.id,
    customer_name: o.customerName,
    table_label: o.table,
    notes: o.notes,
    total_cents: o.totalCents,
    source: o.source,
  }));
  const lines = accepted.flatMap(({ order: o }) =>
    o.items.map((l) => ({
      id: l.id,
      order_id: o.id,
      menu_item_id: l.menuItemId,
      name: l.name,
      quantity: l.quantity,
      unit_price_cents: l.unitPriceCents,
      notes: l.notes,
    }))
  );
  const writes: Promise<unknown>[] = [];
  writes.push(conn`
    INSERT INTO orders (id, status, customer_name, table_label, notes, total_cents,
      version, source, created_at, updated_at)
    SELECT x.id, 'pending', x.customer_name, x.table_label, x.notes, x.total_cents,
      1, x.source, ${now}, ${now}
    FROM json_to_recordset(${JSON.stringify(orders)}::text::json)
      AS x(id bigint, customer_name text, table_label text, notes text,
        total_cents bigint, source text)`.execute());
  writes.push(conn`
    INSERT INTO order_items (id, order_id, menu_item_id, name, quantity,
      unit_price_cents, notes)
    SELECT * FROM json_to_recordset(${JSON.stringify(lines)}::text::json)
      AS x(id bigint, order_id bigint, menu_item_id bigint, name text,
        quantity integer, unit_price_cents integer, notes text)`.execute());
  const touched = [
    ...new Set(accepted.flatMap((a) => a.taken)),
  ].map((id) => items.get(id)!);
  if (touched.length > 0) {
    const stock = touched.map((m) => ({
      id: m.id,
      stock: m.stock,
      available: m.available,
    }));
    writes.push(conn`
      UPDATE menu_items m SET stock = x.stock, available = x.available,
        updated_at = ${now}
      FROM json_to_recordset(${JSON.stringify(stock)}::text::json)
        AS x(id bigint, stock integer, available boolean)
      WHERE m.id = x.id`.execute());
  }
  for (const w of writes) w.catch(() => {}); // settled in #finish
  return writes;
}

/** Drops refused claims, stores outcomes, appends events and commits, in one round trip. */
async function finishBatch(
  conn: ReservedSql,
  { accepted, refused, writes }: {
    accepted: Accepted[];
    refused: OrderJob[];
    writes: Promise<unknown>[];
  },
  now: Date,
): Promise<void> {
  const tail: Promise<unknown>[] = [...writes];
  if (refused.length > 0) {
    const gone = refused.map((j) => ({
      s: j.idempotency!.scope,
      k: j.idempotency!.key,
    }));
    tail.push(conn`
      DELETE FROM idempotency_keys k
      USING json_to_recordset(${
      JSON.stringify(gone)
    }::text::json) AS x(s text, k text)
      WHERE k.scope = x.s AND k.key = x.k`.execute());
  }
  const outs = accepted.filter((a) => a.job.idempotency).map((a) => ({
    s: a.job.idempotency!.scope,
    k: a.job.idempotency!.key,
    status: a.job.status,
    body: a.body,
    id: a.order.id,
  }));
  if (outs.length > 0) {
    tail.push(conn`
      UPDATE idempotency_keys k SET status = x.status, body = x.body, resource_id = x.id
      FROM json_to_recordset(${JSON.stringify(outs)}::text::json)
        AS x(s text, k text, status integer, body json, id bigint)
      WHERE k.scope = x.s AND k.key = x.k`.execute());
  }
  const events = accepted.flatMap((a) => a.events).map((e, n) => ({
    n,
    ...e,
  }));
  if (events.length > 0) {
    tail.push(conn`
      INSERT INTO events (type, data, created_at)
      SELECT e.t, e.d, ${now}
      FROM json_to_recordset(${JSON.stringify(events)}::text::json)
        AS e(n integer, t text, d json)
      ORDER BY e.n`.execute());
  }
  const commit = conn`COMMIT`.execute();
  const settled = await Promise.allSettled([...tail, commit]);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const { command } = (settled.at(-1) as PromiseFulfilledResult<
    { command: string }
  >).value;
  if (command !== "COMMIT") throw new Error(`COMMIT answered ${command}`);
}

/** Answers a job whose key another transaction recorded: replay, 422, or retry. */
function replayOf(
  job: OrderJob,
  row: Record<string, unknown> | undefined,
  requeue: (job: OrderJob) => void,
): () => void {
  const idem = job.idempotency!;
  if (!row || row.status === null) {
    // Purged meanwhile (or not visible yet): queue it again.
    return () => requeue(job);
  }
  if (row.fingerprint !== idem.fingerprint) {
    return () => job.reject(keyReused(idem));
  }
  return () =>
    job.resolve({
      orderId: Number(row.resource_id),
      status: Number(row.status),
      body: row.body,
      replayed: true,
    });
}
