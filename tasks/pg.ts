/**
 * Throwaway local PostgreSQL cluster for development and tests.
 *
 * CLI:    deno run -A tasks/pg.ts start|stop|status|url [--dir DIR] [--port N]
 * Module: import { startCluster, stopCluster } from "./tasks/pg.ts";
 *
 * The cluster lives in `<repo>/.pg/` (data in `data/`, unix socket in `run/`,
 * server log in `log`, chosen TCP port in `port`), listens on 127.0.0.1 only and
 * trusts loopback connections as superuser `postgres`. Durability settings
 * (`fsync`, `synchronous_commit`) are deliberately left on.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

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

/** Options for {@link stopCluster}. */
export interface StopOptions extends ClusterOptions {
  /** Also delete the whole cluster folder after stopping. */
  wipe?: boolean;
  /** pg_ctl shutdown mode; default "fast" ("immediate" simulates a crash). */
  mode?: "smart" | "fast" | "immediate";
}

/** Snapshot of a cluster as reported by {@link clusterStatus}. */
export interface ClusterStatus {
  /** True when a postmaster is running on the data directory. */
  running: boolean;
  /** True when the data directory has been created by initdb. */
  initialized: boolean;
  /** Postmaster PID when running, else null. */
  pid: number | null;
  /** Port the cluster uses (remembered), or would use. */
  port: number;
  /** Connection URL, `postgres://postgres@127.0.0.1:PORT/forkflow`. */
  url: string;
  /** The same database over the cluster's Unix socket (`…?host=<socket folder>`). */
  socketUrl: string;
  /** Absolute cluster folder. */
  dir: string;
}

/** Result of {@link startCluster}. */
export interface StartResult extends ClusterStatus {
  /** True when the server was already running and nothing was started. */
  alreadyRunning: boolean;
  /** True when this call ran initdb (fresh cluster). */
  created: boolean;
}

/** Result of {@link stopCluster}. */
export interface StopResult {
  /** True when a server was running and has been stopped. */
  wasRunning: boolean;
  /** True when the cluster folder was deleted. */
  wiped: boolean;
}

const REQUIRED_BINARIES = ["initdb", "pg_ctl", "postgres"] as const;
const MARKER_FILE = ".forkflow-pg";
const CONF_FILE = "forkflow.conf";
/** sizeof(sockaddr_un.sun_path) on Linux, including the trailing NUL. */
const MAX_SOCKET_PATH = 107;

interface Layout {
  dir: string;
  dataDir: string;
  runDir: string;
  logFile: string;
  portFile: string;
  lockFile: string;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Run as the `postgres` OS user when we are root. */
  asPostgres?: boolean;
  cwd?: string;
  timeoutMs?: number;
}

/** Find the PostgreSQL server bin dir (PATH first, then newest /usr/lib/postgresql/x/bin), or null. */
export function findPgBinDir(): string | null {
  for (const entry of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!entry) continue;
    const initdb = join(entry, "initdb");
    if (!isExecutable(initdb)) continue;
    // Debian-style PATH entries are often symlinks into the real bin dir, which
    // also holds psql/createdb/pg_isready: prefer that real directory.
    let real: string;
    try {
      real = dirname(Deno.realPathSync(initdb));
    } catch {
      real = entry;
    }
    if (hasServerBinaries(real)) return real;
    if (hasServerBinaries(entry)) return entry;
  }
  const root = "/usr/lib/postgresql";
  let versions: string[] = [];
  try {
    versions = [...Deno.readDirSync(root)].map((e) => e.name);
  } catch {
    return null;
  }
  versions.sort(compareVersions).reverse();
  for (const v of versions) {
    const bin = join(root, v, "bin");
    if (hasServerBinaries(bin)) return bin;
  }
  return null;
}

/** Start (and on first use, create) the cluster; idempotent. Resolves once it accepts connections. */
export async function startCluster(
  opts: ClusterOptions = {},
): Promise<StartResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const layout = layoutFor(opts.dir);
  const log = logger(opts.quiet);

  const binDir = resolveBinDir(opts, layout);
  await Deno.mkdir(layout.dir, { recursive: true });
  return await withLock(layout, async () => {
    const owner = await ownerIds();

    const current = await statusOf(layout, binDir, opts);
    if (current.running) {
      if (
        opts.port !== undefined && opts.port !== 0 && opts.port !== current.port
      ) {
        log(
          `already running on port ${current.port}; ignoring port ${opts.port}`,
        );
      } else {
        log(`already running (pid ${current.pid}) in ${layout.dir}`);
      }
      return { ...current, alreadyRunning: true, created: false };
    }

    await prepareFolder(layout, owner);

    let created = false;
    if (!isInitialized(layout)) {
      log(`initializing cluster in ${layout.dataDir}`);
      const t0 = Date.now();
      await initCluster(layout, binDir, owner, remaining(deadline));
      created = true;
      log(`initdb done in ${seconds(Date.now() - t0)}`);
    }

    const port = await choosePort(layout, opts, log);
    checkSocketPath(layout, port);
    await writeServerConf(layout, port, owner);
    await writeText(layout.portFile, `${port}\n`);

    log(`starting PostgreSQL on 127.0.0.1:${port}`);
    await launch(layout, binDir, port, deadline);
    await ensureDatabase(binDir, port, remaining(deadline));

    const status = await statusOf(layout, binDir, opts);
    log(`ready in ${seconds(Date.now() - started)}`);
    return { ...status, alreadyRunning: false, created };
  });
}

/** Stop the cluster (`pg_ctl stop -m fast`); with `wipe`, delete its folder too. */
export async function stopCluster(opts: StopOptions = {}): Promise<StopResult> {
  const layout = layoutFor(opts.dir);
  const log = logger(opts.quiet);
  if (!(await exists(layout.dir))) {
    log(`no cluster in ${layout.dir}`);
    return { wasRunning: false, wiped: false };
  }
  if (opts.wipe) assertOwnedFolder(layout);

  return await withLock(layout, async () => {
    let wasRunning = false;
    if (isInitialized(layout)) {
      const binDir = resolveBinDir(opts, layout);
      const status = await statusOf(layout, binDir, opts);
      if (status.running) {
        wasRunning = true;
        const t0 = Date.now();
        await shutdown(
          layout,
          binDir,
          opts.mode ?? "fast",
          opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          log,
        );
        log(`stopped in ${seconds(Date.now() - t0)}`);
      } else {
        log("not running");
      }
    }
    if (opts.wipe) {
      await Deno.remove(layout.dir, { recursive: true });
      log(`deleted ${layout.dir}`);
    }
    return { wasRunning, wiped: opts.wipe === true };
  });
}

/** Stop then start the cluster, keeping its data and port (e.g. to simulate an outage). */
export async function restartCluster(
  opts: StopOptions = {},
): Promise<StartResult> {
  await stopCluster({ ...opts, wipe: false });
  return await startCluster(opts);
}

/** Report whether the cluster is running, plus its port, URL and PID. */
export async function clusterStatus(
  opts: ClusterOptions = {},
): Promise<ClusterStatus> {
  const layout = layoutFor(opts.dir);
  const binDir = isInitialized(layout) ? resolveBinDir(opts, layout) : null;
  return await statusOf(layout, binDir, opts);
}

/** Connection URL of the cluster (`postgres://postgres@127.0.0.1:PORT/forkflow`); does not start it. */
export async function clusterUrl(opts: ClusterOptions = {}): Promise<string> {
  const layout = layoutFor(opts.dir);
  return urlFor(await rememberedPort(layout) ?? preferredPort(opts));
}

// ---------------------------------------------------------------------------
// internals

function defaultDir(): string {
  try {
    return fileURLToPath(new URL("../.pg", import.meta.url));
  } catch {
    return resolve(".pg");
  }
}

function layoutFor(dir: string | undefined): Layout {
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

function urlFor(port: number): string {
  return `postgres://${PG_SUPERUSER}@127.0.0.1:${port}/${PG_DATABASE}`;
}

function socketUrlFor(port: number, runDir: string): string {
  return `postgres://${PG_SUPERUSER}@:${port}/${PG_DATABASE}?host=${
    encodeURIComponent(runDir)
  }`;
}

function preferredPort(opts: ClusterOptions): number {
  return opts.port !== undefined && opts.port !== 0
    ? opts.port
    : DEFAULT_PG_PORT;
}

function logger(quiet: boolean | undefined): (msg: string) => void {
  return quiet ? () => {} : (msg) => console.error(`pg: ${msg}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function remaining(deadline: number): number {
  return Math.max(1_000, deadline - Date.now());
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o755) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function hasServerBinaries(dir: string): boolean {
  return REQUIRED_BINARIES.every((b) => isExecutable(join(dir, b)));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

function resolveBinDir(opts: ClusterOptions, layout: Layout): string {
  if (opts.binDir) {
    const dir = resolve(opts.binDir);
    if (!hasServerBinaries(dir)) {
      throw new Error(
        `PostgreSQL binaries (initdb, pg_ctl, postgres) not found in ${dir}`,
      );
    }
    return dir;
  }
  // An existing cluster must be run by its own major version: prefer it.
  const version = readTextSync(join(layout.dataDir, "PG_VERSION"))?.trim();
  if (version) {
    const own = join("/usr/lib/postgresql", version, "bin");
    if (hasServerBinaries(own)) return own;
  }
  const found = findPgBinDir();
  if (!found) {
    throw new Error(
      "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL (e.g. apt-get install postgresql) or pass binDir/--bin-dir",
    );
  }
  return found;
}

/** Path of a client tool from the bin dir, else bare name (PATH lookup). */
function tool(binDir: string, name: string): string {
  const p = join(binDir, name);
  return isExecutable(p) ? p : name;
}

function readTextSync(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function isInitialized(layout: Layout): boolean {
  return readTextSync(join(layout.dataDir, "PG_VERSION")) !== null;
}

async function writeText(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
}

/** Child-process environment: inherited, minus PG* variables that would redirect our tools. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!k.startsWith("PG")) env[k] = v;
  }
  env.LC_ALL = "C";
  return env;
}

async function run(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  let program = cmd;
  let argv = args;
  if (opts.asPostgres && isRoot()) {
    program = "runuser";
    argv = ["-u", "postgres", "--", cmd, ...args];
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: argv,
      cwd: opts.cwd,
      clearEnv: true,
      env: childEnv(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Own process group, so a timeout can kill the whole tree (runuser and
      // its child) instead of waiting for a grandchild that holds our pipes.
      detached: true,
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`command not found: ${program}`);
    }
    throw e;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  let output: Deno.CommandOutput;
  try {
    output = await child.output();
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    throw new Error(`${basename(cmd)} timed out after ${seconds(timeoutMs)}`);
  }
  const dec = new TextDecoder();
  return {
    code: output.code,
    stdout: dec.decode(output.stdout),
    stderr: dec.decode(output.stderr),
  };
}

function oneLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim()).join(" | ");
}

interface Owner {
  uid: number;
  gid: number;
}

/** uid/gid of the `postgres` OS user when we are root; null when not root. */
async function ownerIds(): Promise<Owner | null> {
  if (!isRoot()) return null;
  const uid = await run("id", ["-u", "postgres"]);
  const gid = await run("id", ["-g", "postgres"]);
  if (uid.code !== 0 || gid.code !== 0) {
    throw new Error(
      "running as root but there is no 'postgres' OS user (PostgreSQL refuses to run as root); create it (useradd -r postgres) or run as a normal user",
    );
  }
  return {
    uid: Number.parseInt(uid.stdout.trim(), 10),
    gid: Number.parseInt(gid.stdout.trim(), 10),
  };
}

async function chownIfExists(path: string, owner: Owner | null): Promise<void> {
  if (!owner) return;
  try {
    await Deno.chown(path, owner.uid, owner.gid);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Create the folder skeleton; as root, hand it to the postgres user. */
async function prepareFolder(
  layout: Layout,
  owner: Owner | null,
): Promise<void> {
  await Deno.mkdir(layout.runDir, { recursive: true });
  await writeText(
    join(layout.dir, MARKER_FILE),
    "throwaway PostgreSQL cluster managed by tasks/pg.ts\n",
  );
  // Self-ignoring folder, whatever the repository's .gitignore says.
  await writeText(join(layout.dir, ".gitignore"), "*\n");
  if (!owner) return;
  for (const p of [layout.dir, layout.runDir, layout.logFile]) {
    await chownIfExists(p, owner);
  }
  const probe = await run("test", ["-w", layout.dir, "-a", "-x", layout.dir], {
    asPostgres: true,
  });
  if (probe.code !== 0) {
    throw new Error(
      `the postgres user cannot access ${layout.dir}; every parent directory must be world-traversable (chmod o+x) or use --dir elsewhere`,
    );
  }
}

function assertOwnedFolder(layout: Layout): void {
  if (readTextSync(join(layout.dir, MARKER_FILE)) === null) {
    throw new Error(
      `refusing to delete ${layout.dir}: it does not look like a tasks/pg.ts cluster folder (no ${MARKER_FILE})`,
    );
  }
}

async function withLock<T>(layout: Layout, fn: () => Promise<T>): Promise<T> {
  const file = await Deno.open(layout.lockFile, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}

async function initCluster(
  layout: Layout,
  binDir: string,
  owner: Owner | null,
  timeoutMs: number,
): Promise<void> {
  // A half-created data dir (interrupted initdb) makes initdb refuse to run.
  if (await exists(layout.dataDir)) {
    await Deno.remove(layout.dataDir, { recursive: true });
  }
  const res = await run(join(binDir, "initdb"), [
    "-D",
    layout.dataDir,
    "-U",
    PG_SUPERUSER,
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
  ], { asPostgres: true, cwd: layout.dir, timeoutMs });
  if (res.code !== 0) {
    throw new Error(
      `initdb failed (exit ${res.code}): ${oneLine(res.stderr || res.stdout)}`,
    );
  }
  // Trust, but only over the unix socket and IPv4 loopback.
  const hba = join(layout.dataDir, "pg_hba.conf");
  await writeText(
    hba,
    [
      "# Managed by tasks/pg.ts: trust, loopback only.",
      "# TYPE  DATABASE  USER  ADDRESS       METHOD",
      "local   all       all                 trust",
      "host    all       all   127.0.0.1/32  trust",
      "local   replication all               trust",
      "host    replication all 127.0.0.1/32  trust",
      "",
    ].join("\n"),
  );
  await chownIfExists(hba, owner);
  const conf = join(layout.dataDir, "postgresql.conf");
  await Deno.writeTextFile(
    conf,
    `\n# Added by tasks/pg.ts; settings are rewritten on every start.\ninclude_if_exists = '${CONF_FILE}'\n`,
    { append: true },
  );
}

function quoteConf(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

async function writeServerConf(
  layout: Layout,
  port: number,
  owner: Owner | null,
): Promise<void> {
  const path = join(layout.dataDir, CONF_FILE);
  await writeText(
    path,
    [
      "# Managed by tasks/pg.ts; rewritten on every start.",
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = ${quoteConf(layout.runDir)}`,
      "max_connections = 200",
      "shared_buffers = 128MB",
      "# Durability is the product's point: keep these on even in tests.",
      "fsync = on",
      "synchronous_commit = on",
      "full_page_writes = on",
      "",
    ].join("\n"),
  );
  await chownIfExists(path, owner);
}

async function rememberedPort(layout: Layout): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(layout.portFile);
  } catch {
    return null;
  }
  const port = Number.parseInt(text.trim(), 10);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
}

function portIsFree(port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
    return true;
  } catch {
    return false;
  }
}

function anyFreePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function choosePort(
  layout: Layout,
  opts: ClusterOptions,
  log: (msg: string) => void,
): Promise<number> {
  const remembered = await rememberedPort(layout);
  if (opts.port === 0 && remembered === null) return anyFreePort();
  const wanted = opts.port !== undefined && opts.port !== 0
    ? opts.port
    : remembered ?? DEFAULT_PG_PORT;
  if (portIsFree(wanted)) return wanted;
  const port = anyFreePort();
  log(
    `port ${wanted} is taken by another process; using ${port} instead (saved in ${layout.portFile})`,
  );
  return port;
}

function checkSocketPath(layout: Layout, port: number): void {
  const socket = join(layout.runDir, `.s.PGSQL.${port}`);
  if (new TextEncoder().encode(socket).length > MAX_SOCKET_PATH) {
    throw new Error(
      `unix socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --dir`,
    );
  }
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

function logTail(path: string, fromByte: number, lines = 20): string {
  let text: string;
  try {
    const bytes = Deno.readFileSync(path);
    text = new TextDecoder().decode(
      bytes.subarray(Math.min(fromByte, bytes.length)),
    );
  } catch {
    return `(no log at ${path})`;
  }
  const tail = text.trimEnd().split("\n").slice(-lines);
  return tail.length && tail[0]
    ? tail.map((l) => `  ${l}`).join("\n")
    : "(log is empty)";
}

async function launch(
  layout: Layout,
  binDir: string,
  port: number,
  deadline: number,
): Promise<void> {
  const logStart = fileSize(layout.logFile);
  const waitSecs = Math.max(1, Math.floor((deadline - Date.now()) / 1000));
  const pgCtl = join(binDir, "pg_ctl");
  let problem: string;
  try {
    const res = await run(pgCtl, [
      "start",
      "-D",
      layout.dataDir,
      "-l",
      layout.logFile,
      "-w",
      "-t",
      String(waitSecs),
    ], {
      asPostgres: true,
      cwd: layout.dir,
      timeoutMs: waitSecs * 1000 + 2_000,
    });
    if (res.code === 0) {
      await waitAcceptingTcp(binDir, port, deadline);
      return;
    }
    problem = `pg_ctl: ${oneLine(res.stderr || res.stdout)}`;
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  // Don't leave a half-started server behind.
  await run(pgCtl, [
    "stop",
    "-D",
    layout.dataDir,
    "-m",
    "immediate",
    "-w",
    "-t",
    "10",
  ], { asPostgres: true, cwd: layout.dir, timeoutMs: 12_000 }).catch(() => {});
  throw new Error(
    `PostgreSQL failed to start on 127.0.0.1:${port} (${problem}); last lines of ${layout.logFile}:\n${
      logTail(layout.logFile, logStart)
    }`,
  );
}

/** pg_ctl -w waits for the postmaster; confirm the TCP listener the URL points at. */
async function waitAcceptingTcp(
  binDir: string,
  port: number,
  deadline: number,
): Promise<void> {
  const isready = tool(binDir, "pg_isready");
  let last = "";
  do {
    const res = await run(isready, [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      PG_SUPERUSER,
      "-d",
      "postgres",
      "-t",
      "2",
    ], {
      timeoutMs: 5_000,
    });
    if (res.code === 0) return;
    last = oneLine(res.stdout || res.stderr);
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  throw new Error(
    `PostgreSQL is running but 127.0.0.1:${port} does not accept connections: ${last}`,
  );
}

async function ensureDatabase(
  binDir: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const conn = ["-h", "127.0.0.1", "-p", String(port), "-U", PG_SUPERUSER];
  const check = await run(tool(binDir, "psql"), [
    ...conn,
    "-d",
    "postgres",
    "-X",
    "-q",
    "-t",
    "-A",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    `SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'`,
  ], { timeoutMs });
  if (check.code !== 0) {
    throw new Error(
      `psql failed (exit ${check.code}): ${oneLine(check.stderr)}`,
    );
  }
  if (check.stdout.trim() === "1") return;
  const create = await run(tool(binDir, "createdb"), [...conn, PG_DATABASE], {
    timeoutMs,
  });
  if (create.code !== 0) {
    throw new Error(
      `createdb ${PG_DATABASE} failed (exit ${create.code}): ${
        oneLine(create.stderr)
      }`,
    );
  }
}

async function statusOf(
  layout: Layout,
  binDir: string | null,
  opts: ClusterOptions,
): Promise<ClusterStatus> {
  const port = await rememberedPort(layout) ?? preferredPort(opts);
  const base = {
    port,
    url: urlFor(port),
    socketUrl: socketUrlFor(port, layout.runDir),
    dir: layout.dir,
  };
  if (!binDir || !isInitialized(layout)) {
    return {
      ...base,
      running: false,
      initialized: isInitialized(layout),
      pid: null,
    };
  }
  // pg_ctl status: 0 = running, 3 = not running, 4 = no/unreadable data dir.
  const res = await run(join(binDir, "pg_ctl"), [
    "status",
    "-D",
    layout.dataDir,
  ], {
    asPostgres: true,
    cwd: layout.dir,
    timeoutMs: 10_000,
  });
  if (res.code === 0) {
    const pid = Number.parseInt(/PID:\s*(\d+)/.exec(res.stdout)?.[1] ?? "", 10);
    return {
      ...base,
      running: true,
      initialized: true,
      pid: Number.isNaN(pid) ? null : pid,
    };
  }
  if (res.code === 3 || res.code === 4) {
    return { ...base, running: false, initialized: true, pid: null };
  }
  throw new Error(
    `pg_ctl status failed (exit ${res.code}): ${
      oneLine(res.stderr || res.stdout)
    }`,
  );
}

async function shutdown(
  layout: Layout,
  binDir: string,
  mode: "smart" | "fast" | "immediate",
  timeoutMs: number,
  log: (msg: string) => void,
): Promise<void> {
  const pgCtl = join(binDir, "pg_ctl");
  const secs = Math.max(1, Math.floor(timeoutMs / 1000));
  const stop = (m: string) =>
    run(pgCtl, [
      "stop",
      "-D",
      layout.dataDir,
      "-m",
      m,
      "-w",
      "-t",
      String(secs),
    ], {
      asPostgres: true,
      cwd: layout.dir,
      timeoutMs: secs * 1000 + 5_000,
    });
  let res = await stop(mode);
  if (res.code !== 0 && mode !== "immediate") {
    log(
      `pg_ctl stop -m ${mode} failed (${
        oneLine(res.stderr || res.stdout)
      }); retrying with -m immediate`,
    );
    res = await stop("immediate");
  }
  const after = await statusOf(layout, binDir, {});
  if (after.running) {
    throw new Error(
      `could not stop PostgreSQL (pid ${after.pid}) in ${layout.dataDir}: ${
        oneLine(res.stderr || res.stdout)
      }`,
    );
  }
}

// ---------------------------------------------------------------------------
// CLI

const USAGE = `Usage: deno run -A tasks/pg.ts <command> [options]

Commands:
  start    create the cluster on first use, start it, wait until it accepts
           connections; prints DATABASE_URL=postgres://postgres@127.0.0.1:PORT/forkflow
  stop     stop the cluster (pg_ctl stop -m fast); nothing is left running
  status   print "running" (exit 0) or "stopped" (exit 3)
  url      print the connection URL

Options:
  --dir DIR        cluster folder (default: <repo>/.pg)
  --port N         preferred port (default: remembered port, else ${DEFAULT_PG_PORT}; 0 = any free)
  --wipe           stop: also delete the cluster folder
  --mode MODE      stop: smart | fast | immediate (default fast)
  --bin-dir DIR    folder with initdb/pg_ctl/postgres (default: PATH, /usr/lib/postgresql/<newest>/bin)
  --timeout SECS   bound for start/stop (default ${DEFAULT_TIMEOUT_MS / 1000})
  -q, --quiet      no progress messages on stderr
  -h, --help       show this help`;

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `invalid --port ${JSON.stringify(value)}: expected an integer 0-65535`,
    );
  }
  return port;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      port: { type: "string" },
      wipe: { type: "boolean", default: false },
      mode: { type: "string" },
      "bin-dir": { type: "string" },
      timeout: { type: "string" },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (!command || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const mode = values.mode;
  if (
    mode !== undefined && mode !== "smart" && mode !== "fast" &&
    mode !== "immediate"
  ) {
    throw new Error(
      `invalid --mode ${
        JSON.stringify(mode)
      }: expected smart, fast or immediate`,
    );
  }
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const secs = Number(values.timeout);
    if (!(secs > 0)) {
      throw new Error(`invalid --timeout ${JSON.stringify(values.timeout)}`);
    }
    timeoutMs = secs * 1000;
  }
  const opts: StopOptions = {
    dir: values.dir,
    port: parsePort(values.port),
    binDir: values["bin-dir"],
    timeoutMs,
    quiet: values.quiet,
    wipe: values.wipe,
    mode,
  };
  switch (command) {
    case "start": {
      const res = await startCluster(opts);
      console.log(`DATABASE_URL=${res.url}`);
      return 0;
    }
    case "stop":
      await stopCluster(opts);
      return 0;
    case "status": {
      const st = await clusterStatus(opts);
      console.log(st.running ? "running" : "stopped");
      if (!opts.quiet) {
        console.error(
          `pg: ${st.dir} ${
            st.initialized ? "initialized" : "not initialized"
          }, port ${st.port}` +
            (st.pid ? `, pid ${st.pid}` : ""),
        );
      }
      return st.running ? 0 : 3;
    }
    case "url":
      console.log(await clusterUrl(opts));
      return 0;
    default:
      console.error(
        `pg: unknown command ${JSON.stringify(command)}\n\n${USAGE}`,
      );
      return 2;
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(`pg: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  }
  Deno.exit(code);
}
