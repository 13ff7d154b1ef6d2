/** Where a task sends its load: a given URL, or a server it starts on a throwaway database. */
import { dirname, resolve } from "node:path";
import { type Flags, runId, stringFlag } from "./cli.ts";
import { childLabel, type ChildServer, startServer } from "./server.ts";

/** A database for a self-started server, and how to throw it away. */
export interface TaskDatabase {
  url: string;
  /** `libsql (temp file)`, `postgres (throwaway cluster)`, … */
  label: string;
  /** A folder on the database's filesystem, when this machine holds it. */
  dir?: string;
  cleanup(): Promise<void>;
}

/** The server a task talks to. */
export interface Target {
  url: string;
  /** Set when the task started the server itself. */
  server?: ChildServer;
  /** Human description for reports. */
  label: string;
  /** A folder on the database's filesystem, when this machine holds it. */
  dir?: string;
  close(): Promise<void>;
}

async function throwawayPostgres(): Promise<TaskDatabase> {
  const pg = await import("../../db/postgres/cluster.ts");
  const { default: postgres } = await import("postgres");
  const cluster = await pg.startCluster({ quiet: true });
  const name = `forkflow_task_${runId()}`;
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  // The server and the cluster share this machine: the Unix socket spares
  // both sides the loopback TCP stack.
  const url = cluster.socketUrl.replace(/\/[^/?]*\?/, `/${name}?`);
  return {
    url,
    label: `postgres (throwaway cluster, database ${name})`,
    dir: cluster.dir,
    async cleanup() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      if (!cluster.alreadyRunning) await pg.stopCluster({ quiet: true });
    },
  };
}

/**
 * Resolves `--database-url`: unset means a libSQL file in a new temp folder,
 * `pg` a fresh database on the throwaway cluster of `db/postgres/cluster.ts`,
 * anything else is used as given (and left in place).
 */
export async function openDatabase(spec?: string): Promise<TaskDatabase> {
  if (spec === "pg" || spec === "postgres") return await throwawayPostgres();
  if (spec) {
    const label = /^postgres/.test(spec) ? "postgres" : "libsql";
    return {
      url: spec,
      label: `${label} (${redact(spec)})`,
      dir: localFolderOf(spec),
      async cleanup() {},
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "forkflow-task-" });
  return {
    url: `file:${dir}/forkflow.db`,
    label: "libsql (embedded file in a temp folder)",
    dir,
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The folder of a local `file:` database; undefined for any other URL. */
export function localFolderOf(url: string): string | undefined {
  const m = /^file:(?:\/\/)?([^?#]+)/.exec(url);
  if (!m) return undefined;
  try {
    return dirname(resolve(decodeURIComponent(m[1]!)));
  } catch {
    return undefined; // a malformed %-escape: the server will say so
  }
}

/** Hides a password in a database URL. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/**
 * `--url` when given; otherwise starts `main.ts` as a child process on
 * `--database-url` (default a temp libSQL file) with `env`.
 */
export async function openTarget(
  flags: Flags,
  env: Record<string, string> = {},
): Promise<Target> {
  const url = stringFlag(flags, "url");
  if (url) {
    return {
      url: url.replace(/\/$/, ""),
      label: `external server ${url}`,
      async close() {},
    };
  }
  const db = await openDatabase(stringFlag(flags, "database-url"));
  let server: ChildServer;
  try {
    server = await startServer({ databaseUrl: db.url, env });
  } catch (e) {
    await db.cleanup();
    throw e;
  }
  return {
    url: server.url,
    server,
    label: childLabel(server.url, db.label),
    dir: db.dir,
    async close() {
      await server.stop();
      await db.cleanup();
    },
  };
}
