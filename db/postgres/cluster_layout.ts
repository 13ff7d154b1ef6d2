/**
 * Where a throwaway cluster lives: its folder layout, default folder and port,
 * the URLs that reach it, and the lock that serializes starts and stops.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Default cluster folder: `<repo>/.pg`, resolved from this module's location. */
export const DEFAULT_PG_DIR: string = defaultDir();

/** Default TCP port the cluster listens on (127.0.0.1 only). */
export const DEFAULT_PG_PORT = 54329;

/** Name of the application database created on first start. */
export const PG_DATABASE = "forkflow";

/** Superuser the URL connects as (trust auth, loopback only). */
export const PG_SUPERUSER = "postgres";

/** Default bound, in milliseconds, for starting or stopping the server. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Options shared by every cluster function. */
export interface ClusterOptions {
  /** Cluster folder (absolute or relative to cwd); default {@link DEFAULT_PG_DIR}. */
  dir?: string;
  /** Preferred port; 0 = any free port. Default: the remembered port, else {@link DEFAULT_PG_PORT}. */
  port?: number;
  /** Folder holding initdb/pg_ctl/postgres; default: found on PATH or in /usr/lib/postgresql/<newest>/bin. */
  binDir?: string;
  /** Bound for start/stop in milliseconds; default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Suppress progress messages on stderr. */
  quiet?: boolean;
}

/** File marking a folder as ours, so `--wipe` deletes nothing else. */
export const MARKER_FILE = ".forkflow-pg";

/** Settings file, in the data directory, included by postgresql.conf. */
export const CONF_FILE = "forkflow.conf";

/** sizeof(sockaddr_un.sun_path) on Linux, including the trailing NUL. */
const MAX_SOCKET_PATH = 107;

/** Paths of one cluster folder. */
export interface Layout {
  dir: string;
  dataDir: string;
  runDir: string;
  logFile: string;
  portFile: string;
  lockFile: string;
}

function defaultDir(): string {
  try {
    return fileURLToPath(new URL("../../.pg", import.meta.url));
  } catch {
    return resolve(".pg");
  }
}

/** The paths inside cluster folder `dir` (default {@link DEFAULT_PG_DIR}). */
export function layoutFor(dir: string | undefined): Layout {
  const root = resolve(dir ?? DEFAULT_PG_DIR);
  return {
    dir: root,
    dataDir: join(root, "data"),
    runDir: join(root, "run"),
    logFile: join(root, "log"),
    portFile: join(root, "port"),
    lockFile: join(root, ".lock"),
  };
}

/** TCP URL of the application database on `port`. */
export function urlFor(port: number): string {
  return `postgres://${PG_SUPERUSER}@127.0.0.1:${port}/${PG_DATABASE}`;
}

/** The application database over the Unix socket in `runDir`. */
export function socketUrlFor(port: number, runDir: string): string {
  return `postgres://${PG_SUPERUSER}@:${port}/${PG_DATABASE}?host=${
    encodeURIComponent(runDir)
  }`;
}

/** The port asked for, else {@link DEFAULT_PG_PORT}. */
export function preferredPort(opts: ClusterOptions): number {
  return opts.port !== undefined && opts.port !== 0
    ? opts.port
    : DEFAULT_PG_PORT;
}

/** The port saved by the last start, or null. */
export async function rememberedPort(layout: Layout): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(layout.portFile);
  } catch {
    return null;
  }
  const port = Number.parseInt(text.trim(), 10);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
}

/** Throws when the socket path would exceed the kernel's limit. */
export function checkSocketPath(layout: Layout, port: number): void {
  const socket = join(layout.runDir, `.s.PGSQL.${port}`);
  if (new TextEncoder().encode(socket).length > MAX_SOCKET_PATH) {
    throw new Error(
      `unix socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --dir`,
    );
  }
}

/** The text of `path`, or null when it cannot be read. */
export function readTextSync(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** True when `path` exists (even as a dangling symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** True when initdb has created the data directory. */
export function isInitialized(layout: Layout): boolean {
  return readTextSync(join(layout.dataDir, "PG_VERSION")) !== null;
}

/** Writes `text` to `path`. */
export async function writeText(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
}

/** Refuses to go on unless `layout.dir` carries our marker file. */
export function assertOwnedFolder(layout: Layout): void {
  if (readTextSync(join(layout.dir, MARKER_FILE)) === null) {
    throw new Error(
      `refusing to delete ${layout.dir}: it does not look like a tasks/pg.ts cluster folder (no ${MARKER_FILE})`,
    );
  }
}

/** Runs `fn` holding the cluster folder's exclusive file lock. */
export async function withLock<T>(
  layout: Layout,
  fn: () => Promise<T>,
): Promise<T> {
  const file = await Deno.open(layout.lockFile, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}
