/**
 * `deno task backup`: a consistent snapshot of the database while the server
 * keeps serving. libSQL: `VACUUM INTO` on a separate connection; in WAL mode
 * it reads one snapshot and never blocks the server's writer. PostgreSQL:
 * `pg_dump --format=custom`. Prints the snapshot's path on stdout.
 */
import { createClient } from "@libsql/client";
import { ConfigError, configFromEnv, DEFAULT_DATABASE_URL } from "../config.ts";
import { backendFor } from "../domain/database_url.ts";
import { findPgBinDir } from "../db/postgres/cluster.ts";

/** Where snapshots go unless told otherwise (gitignored). */
export const DEFAULT_BACKUP_DIR = "backups";

/** Options of a backup. */
export interface BackupOptions {
  /** Directory of the snapshot file. */
  dir?: string;
  /** Clock of the file name. */
  now?: Date;
}

/** `forkflow-20260121T101500123Z` for a time. */
export function snapshotName(now: Date): string {
  return `forkflow-${now.toISOString().replace(/[-:.]/g, "")}`;
}

/** The local path of a `file:` URL; throws for remote libSQL. */
export function localPath(url: string): string {
  if (!/^file:/i.test(url)) {
    throw new Error(
      `Cannot snapshot remote libSQL "${
        url.split(":")[0]
      }:" databases from here; use the provider's backups`,
    );
  }
  return url.replace(/^file:(\/\/(?=\/))?/i, "").replace(/\?.*$/, "");
}

const isBusy = (e: unknown) =>
  /SQLITE_BUSY|database is locked/i.test(String((e as Error)?.message ?? e));

/**
 * Snapshots a libSQL file with `VACUUM INTO` on its own connection and checks
 * the copy with `PRAGMA integrity_check`; resolves to the snapshot's path.
 */
export async function backupLibsql(
  url: string,
  opts: BackupOptions = {},
): Promise<string> {
  const source = localPath(url);
  await Deno.stat(source); // a missing database is an error, not an empty backup
  const dir = opts.dir ?? DEFAULT_BACKUP_DIR;
  await Deno.mkdir(dir, { recursive: true });
  const dest = `${dir}/${snapshotName(opts.now ?? new Date())}.db`;
  const client = createClient({ url: `file:${source}` });
  try {
    for (let attempt = 0;; attempt++) {
      try {
        await client.execute({ sql: "VACUUM INTO ?", args: [dest] });
        break;
      } catch (e) {
        if (!isBusy(e) || attempt >= 50) throw e;
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  } finally {
    client.close();
  }
  const check = createClient({ url: `file:${dest}` });
  try {
    const rows = (await check.execute("PRAGMA integrity_check")).rows;
    const verdict = rows.map((r) => String(Object.values(r)[0])).join("; ");
    if (verdict !== "ok") {
      throw new Error(`Snapshot ${dest} failed integrity_check: ${verdict}`);
    }
  } finally {
    check.close();
  }
  return dest;
}

/** Dumps a PostgreSQL database with `pg_dump -Fc`; resolves to the dump's path. */
export async function backupPostgres(
  url: string,
  opts: BackupOptions = {},
): Promise<string> {
  const dir = opts.dir ?? DEFAULT_BACKUP_DIR;
  await Deno.mkdir(dir, { recursive: true });
  const dest = `${dir}/${snapshotName(opts.now ?? new Date())}.dump`;
  const bin = findPgBinDir();
  const pgDump = bin ? `${bin}/pg_dump` : "pg_dump";
  const out = await new Deno.Command(pgDump, {
    args: [
      "--format=custom",
      "--no-owner",
      `--file=${dest}`,
      `--dbname=${url}`,
    ],
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`pg_dump failed: ${err}`);
  }
  return dest;
}

async function main() {
  let url: string;
  try {
    url = configFromEnv().databaseUrl ?? DEFAULT_DATABASE_URL;
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`backup: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
  const dir = Deno.args[0] ?? DEFAULT_BACKUP_DIR;
  try {
    const path = backendFor(url) === "postgres"
      ? await backupPostgres(url, { dir })
      : await backupLibsql(url, { dir });
    console.log(path);
  } catch (e) {
    console.error(`backup: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
