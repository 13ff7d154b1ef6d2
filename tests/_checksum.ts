/** Test helper: row counts and a content digest of every table of a store's database. */
import type { Store } from "../db/store.ts";

/** What a database holds, table by table; equal snapshots mean nothing changed. */
export interface DbChecksum {
  counts: Record<string, number>;
  /** SHA-256 (hex) over every row of every table. */
  digest: string;
}

interface LibsqlReadable {
  read(sql: string): Promise<Record<string, unknown>[]>;
}

interface PostgresReadable {
  sql: { unsafe(query: string): Promise<Record<string, unknown>[]> };
}

function stable(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof ArrayBuffer) v = new Uint8Array(v);
  if (v instanceof Uint8Array) {
    return `0x${
      Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")
    }`;
  }
  return v;
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function libsqlTables(db: LibsqlReadable) {
  const names = (await db.read(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  )).map((r) => String(r.name));
  const out: [string, number, string][] = [];
  for (const name of names) {
    // sqlite_sequence is transactional, so a rolled-back insert leaves it alone too.
    const rows = await db.read(`SELECT * FROM "${name}" ORDER BY rowid`);
    out.push([name, rows.length, JSON.stringify(rows, stable)]);
  }
  return out;
}

async function postgresTables(db: PostgresReadable) {
  const names = (await db.sql.unsafe(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  )).map((r) => String(r.table_name));
  const out: [string, number, string][] = [];
  for (const name of names) {
    // Sequences are left out: nextval() is not rolled back by design.
    const [row] = await db.sql.unsafe(
      `SELECT count(*)::int AS n,
         md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h
       FROM "${name}" t`,
    );
    out.push([name, Number(row!.n), String(row!.h)]);
  }
  return out;
}

/** Counts and digests every table through the store's own connections. */
export async function checksum(store: Store): Promise<DbChecksum> {
  const tables = store.backend === "postgres"
    ? await postgresTables(store as unknown as PostgresReadable)
    : await libsqlTables(store as unknown as LibsqlReadable);
  const counts: Record<string, number> = {};
  for (const [name, n] of tables) counts[name] = n;
  const digest = await sha256(
    tables.map(([name, n, content]) => `${name}:${n}:${content}`).join("\n"),
  );
  return { counts, digest };
}
