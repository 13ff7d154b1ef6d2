/**
 * Fills the `name_key` column of rows stored before it existed (libSQL
 * migration 3, PostgreSQL migration 4). The key needs JavaScript (SQLite has
 * no Unicode case folding), so these run as steps of those migrations, inside
 * their transactions. Which row keeps a shared key is decided once, in
 * `assignNameKeys`; here each dialect only reads and writes.
 */
import type { TransactionSql } from "postgres";
import {
  assignNameKeys,
  type KeyCollision,
  type NamedRow,
} from "../domain/name_key.ts";
import type { Sql } from "./libsql/writer.ts";

/** Tables whose names are unique by `nameKey`. */
export type NameKeyTable =
  | "menu_items"
  | "inventory_items"
  | "vending_products";

/** Logs the rows that lost their key, so that someone renames or deletes them. */
function warnCollisions(table: string, collisions: KeyCollision[]): void {
  for (const c of collisions) {
    console.error(JSON.stringify({
      level: "warn",
      msg:
        `${table} row ${c.id} "${c.name}" has the same name as older row ${c.keptId} "${c.keptName}"; ` +
        `it keeps its name but no table order will match it until it is renamed`,
      table,
      id: c.id,
      name: c.name,
      kept_id: c.keptId,
      kept_name: c.keptName,
      name_key: c.key,
    }));
  }
}

function keysFor(table: string, rows: NamedRow[]) {
  const { keys, collisions } = assignNameKeys(rows);
  warnCollisions(table, collisions);
  return keys;
}

/** Sets `name_key` on every row of `table` on libSQL (one bound UPDATE a row: no text goes through JSON). */
export async function backfillLibsqlNameKeys(
  sql: Sql,
  table: NameKeyTable,
): Promise<void> {
  const rows = await sql.all(`SELECT id, name FROM ${table}`);
  const named = rows.map((r) => ({ id: Number(r.id), name: String(r.name) }));
  for (const { id, key } of keysFor(table, named)) {
    await sql.run(`UPDATE ${table} SET name_key = ? WHERE id = ?`, [key, id]);
  }
}

/** Sets `name_key` on every row of `table` on PostgreSQL, in one statement. */
export async function backfillPostgresNameKeys(
  tx: TransactionSql,
  table: NameKeyTable,
): Promise<void> {
  const rows = await tx`SELECT id, name FROM ${tx(table)}`;
  const named = rows.map((r) => ({ id: Number(r.id), name: String(r.name) }));
  const keys = keysFor(table, named);
  if (keys.length === 0) return;
  const ids = keys.map((k) => k.id);
  const values = keys.map((k) => k.key);
  await tx`
    UPDATE ${tx(table)} AS t SET name_key = k.key
    FROM unnest(${ids}::bigint[], ${values}::text[]) AS k(id, key)
    WHERE t.id = k.id`;
}
