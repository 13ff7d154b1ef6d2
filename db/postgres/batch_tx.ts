/**
 * One batch of orders in one PostgreSQL transaction (see `batch.ts`
 * for why), in two round trips:
 *
 * 1. BEGIN; claim every key and read the outcomes of keys claimed elsewhere
 *    (one statement: INSERT … ON CONFLICT DO NOTHING in key order); lock the
 *    menu rows the batch refers to (FOR UPDATE, in id order); draw order and
 *    line ids.
 * 2. Price each order in arrival order against the locked rows (exactly the
 *    serial rules: stock reaching 0 makes an item unavailable for the next
 *    order), then write everything in one statement and COMMIT: orders,
 *    lines, final stock, outcomes, events (and, before them, when orders
 *    were refused, a statement that drops their claims).
 *    Each statement is a socket write and a wake-up of the backend; on two
 *    shared cores those cost more than the bytes.
 */
import type { ReservedSql } from "postgres";
import {
  type Accepted,
  keyOf,
  type OrderJob,
  priceJob,
} from "../../domain/order_batch.ts";
import { menuRefs } from "../../domain/pricing.ts";
import type { MenuItem } from "../../domain/types.ts";
import { orderJson } from "../../domain/wire.ts";
import { keyReused } from "../../domain/idempotency.ts";
import { toMenuItem } from "./rows.ts";

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
  const refs = menuRefs(batch.flatMap((j) => j.input.items));
  const begin = conn`BEGIN`.execute();
  const held = claimKeys(conn, batch, now);
  const menu = conn`
    SELECT * FROM menu_items
    WHERE id = ANY(${refs.ids}::bigint[]) OR name_key = ANY(${refs.names}::text[])
    ORDER BY id FOR UPDATE`.execute();
  const ids = drawIds(conn, batch);
  const [, heldKeys, menuRows, { orderIds, lineIds }] = await Promise.all([
    begin,
    held,
    menu,
    ids,
  ]);
  const items = new Map(menuRows.map((r) => [Number(r.id), toMenuItem(r)]));

  const answers: (() => void)[] = [];
  const accepted: Accepted[] = [];
  const refused: OrderJob[] = [];
  for (const job of batch) {
    const k = job.idempotency ? keyOf(job.idempotency) : null;
    if (k !== null && heldKeys.has(k)) {
      answers.push(replayOf(job, heldKeys.get(k), opts.requeue));
      continue;
    }
    try {
      accepted.push(priceJob(job, items, now.getTime()));
    } catch (e) {
      if (k !== null) refused.push(job);
      answers.push(() => job.reject(e));
    }
  }
  assignIds(accepted, orderIds, lineIds);
  await finishBatch(conn, { accepted, refused, items }, now);
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

/** Gives the accepted orders and their lines the drawn ids, in arrival order. */
function assignIds(
  accepted: Accepted[],
  orderIds: number[],
  lineIds: number[],
) {
  // Priced orders never have more lines than their input had items.
  const lines = accepted.reduce((n, a) => n + a.order.items.length, 0);
  if (lines > lineIds.length) {
    throw new Error(`Batch drew ${lineIds.length} line ids for ${lines} lines`);
  }
  let li = 0;
  accepted.forEach((a, i) => {
    a.order.id = orderIds[i]!;
    for (const line of a.order.items) line.id = lineIds[li++]!;
    const native = orderJson(a.order);
    a.events.push({ t: "order.created", d: native });
    a.body = a.job.render(a.order, native);
  });
}

/** What the batch writes, as the rows of each JSON parameter of `finishBatch`. */
function outcomeRows(
  { accepted, refused, items }: {
    accepted: Accepted[];
    refused: OrderJob[];
    items: Map<number, MenuItem>;
  },
) {
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
      stock_taken: l.stockTaken,
    }))
  );
  const stock = [...new Set(accepted.flatMap((a) => a.taken))].map((id) => {
    const m = items.get(id)!;
    return { id, stock: m.stock, available: m.available };
  });
  const gone = refused.map((j) => ({
    s: j.idempotency!.scope,
    k: j.idempotency!.key,
  }));
  const outs = accepted.filter((a) => a.job.idempotency).map((a) => ({
    s: a.job.idempotency!.scope,
    k: a.job.idempotency!.key,
    f: a.job.idempotency!.fingerprint,
    status: a.job.status,
    body: a.body,
    id: a.order.id,
  }));
  // A keyed order answered in the native view has the same JSON in its
  // outcome and in its `order.created`: it is sent once, and the event takes
  // it from the outcome row (`oid`) in SQL. Half the bytes, half the JSON
  // PostgreSQL parses.
  const events = accepted.flatMap((a) =>
    a.events.map((e) =>
      e.d === a.body && a.job.idempotency ? { t: e.t, oid: a.order.id } : e
    )
  ).map((e, n) => ({ n, ...e }));
  return { orders, lines, stock, gone, outs, events };
}

/**
 * Writes the whole outcome in one statement (data-modifying CTEs; the
 * foreign keys are checked at its end) and commits: orders, lines, final
 * stock, outcomes stored, events appended (an `order.created` whose JSON is
 * its order's outcome body takes it from there); refused claims are dropped
 * by a statement of their own (`dropClaims`).
 *
 * Outcomes go over their claims with INSERT … ON CONFLICT DO UPDATE, which
 * always finds the row through the primary key. As an UPDATE … FROM join,
 * the plan PostgreSQL cached for this statement while the table was still
 * small was a sequential scan, and it stayed one as the table grew: on a new
 * database each batch read every key row (3.5 ms a batch 6 s into a run at
 * 3,000 orders/s, and growing) until autovacuum analysed the table.
 */
async function finishBatch(
  conn: ReservedSql,
  outcome: Parameters<typeof outcomeRows>[0],
  now: Date,
): Promise<void> {
  const { orders, lines, stock, gone, outs, events } = outcomeRows(outcome);
  const json = (rows: unknown[]) => JSON.stringify(rows);
  const drop = gone.length > 0 ? dropClaims(conn, gone) : null;
  const write = conn`
    WITH new_orders AS (
      INSERT INTO orders (id, status, customer_name, table_label, notes,
        total_cents, version, source, created_at, updated_at)
      SELECT x.id, 'pending', x.customer_name, x.table_label, x.notes,
        x.total_cents, 1, x.source, ${now}, ${now}
      FROM json_to_recordset(${json(orders)}::text::json)
        AS x(id bigint, customer_name text, table_label text, notes text,
          total_cents bigint, source text)
    ), new_lines AS (
      INSERT INTO order_items (id, order_id, menu_item_id, name, quantity,
        unit_price_cents, notes, stock_taken)
      SELECT * FROM json_to_recordset(${json(lines)}::text::json)
        AS x(id bigint, order_id bigint, menu_item_id bigint, name text,
          quantity integer, unit_price_cents integer, notes text,
          stock_taken integer)
    ), new_stock AS (
      UPDATE menu_items m SET stock = x.stock, available = x.available,
        updated_at = ${now}
      FROM json_to_recordset(${json(stock)}::text::json)
        AS x(id bigint, stock integer, available boolean)
      WHERE m.id = x.id
    ), outcomes AS (
      INSERT INTO idempotency_keys (scope, key, fingerprint, status, body,
        resource_id, created_at)
      SELECT x.s, x.k, x.f, x.status, x.body, x.id, ${now}
      FROM json_to_recordset(${json(outs)}::text::json)
        AS x(s text, k text, f text, status integer, body json, id bigint)
      ON CONFLICT (scope, key) DO UPDATE
      SET status = EXCLUDED.status, body = EXCLUDED.body,
        resource_id = EXCLUDED.resource_id
      RETURNING resource_id, body
    )
    INSERT INTO events (type, data, created_at)
    SELECT e.t, COALESCE(e.d, o.body), ${now}
    FROM json_to_recordset(${json(events)}::text::json)
      AS e(n integer, t text, d json, oid bigint)
      LEFT JOIN outcomes o ON o.resource_id = e.oid
    ORDER BY e.n`.execute();
  const commit = conn`COMMIT`.execute();
  // In the order sent: the first failure is the cause, the rest follow from it.
  const settled = await Promise.allSettled([drop, write, commit]);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const { command } = (settled[2] as PromiseFulfilledResult<
    { command: string }
  >).value;
  if (command !== "COMMIT") throw new Error(`COMMIT answered ${command}`);
}

/**
 * Deletes the claims of refused orders (scope `s`, key `k`), so their
 * keys can be used again. Rare, so planned afresh every time (an unnamed
 * statement): a plan cached with the statement while the key table was small
 * would scan the whole table once it has grown.
 */
function dropClaims(conn: ReservedSql, gone: { s: string; k: string }[]) {
  // unnest() of a known array is estimated at its length (json_to_recordset
  // always at 100 rows), so a few keys are looked up through the index.
  return conn.unsafe(
    `DELETE FROM idempotency_keys k
    USING unnest($1::text[], $2::text[]) AS x(s, k)
    WHERE k.scope = x.s AND k.key = x.k`,
    [gone.map((g) => g.s), gone.map((g) => g.k)],
    { prepare: false },
  ).execute();
}

/**
 * Claims the keys of `batch` (in key order); resolves to the keys held
 * elsewhere, each with its stored row. The row is read in the statement's
 * snapshot: a key whose claimer committed while this statement waited on it
 * comes back without an outcome, and its job is queued again.
 */
async function claimKeys(
  conn: ReservedSql,
  batch: OrderJob[],
  now: Date,
): Promise<Map<string, Record<string, unknown>>> {
  const keys = batch.filter((j) => j.idempotency).map((j) => ({
    s: j.idempotency!.scope,
    k: j.idempotency!.key,
    f: j.idempotency!.fingerprint,
  }));
  const rows = await conn`
    WITH x AS (
      SELECT * FROM json_to_recordset(${JSON.stringify(keys)}::text::json)
        AS x(s text, k text, f text)
    ), claimed AS (
      INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
      SELECT x.s, x.k, x.f, ${now} FROM x
      ORDER BY x.s, x.k
      ON CONFLICT (scope, key) DO NOTHING
      RETURNING scope, key
    )
    SELECT x.s AS scope, x.k AS key, k.fingerprint, k.status, k.body,
      k.resource_id
    FROM x LEFT JOIN idempotency_keys k ON k.scope = x.s AND k.key = x.k
    WHERE NOT EXISTS (
      SELECT 1 FROM claimed c WHERE c.scope = x.s AND c.key = x.k)`.execute();
  return new Map(rows.map((r) => [`${r.scope}\n${r.key}`, r]));
}

/**
 * Draws ids for every order and line the batch could accept (ascending), in
 * one statement. A refused or replayed order leaves a gap, as a rolled-back
 * one always did: nextval() is never undone. The identity sequences are named
 * directly: looking them up with pg_get_serial_sequence() for every id cost
 * about a third of the statement.
 */
async function drawIds(
  conn: ReservedSql,
  batch: OrderJob[],
): Promise<{ orderIds: number[]; lineIds: number[] }> {
  const lines = batch.reduce((n, j) => n + j.input.items.length, 0);
  const [row] = await conn`
    SELECT
      (SELECT string_agg(nextval('orders_id_seq')::text, ',')
        FROM generate_series(1, ${batch.length})) AS orders,
      (SELECT string_agg(nextval('order_items_id_seq')::text, ',')
        FROM generate_series(1, ${lines})) AS lines`.execute();
  const list = (csv: string | null) =>
    csv ? csv.split(",").map(Number).sort((a, b) => a - b) : [];
  return { orderIds: list(row!.orders), lineIds: list(row!.lines) };
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
