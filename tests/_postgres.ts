/**
 * The PostgreSQL test backend. Uses `FORKFLOW_TEST_PG_URL` when set (a role
 * that may CREATE DATABASE); otherwise starts a throwaway cluster for this
 * test process in a temporary folder (db/postgres/cluster.ts), which a
 * watchdog stops and deletes when the process exits. Every `open()` gets a
 * new, empty, migrated database, dropped again by `cleanup()`.
 */
import postgres from "postgres";
import { openPostgresStore } from "../db/postgres/store.ts";
import { findPgBinDir, startCluster } from "../db/postgres/cluster.ts";
import type { TestBackend, TestDb } from "./_helpers.ts";

const ENV_URL = "FORKFLOW_TEST_PG_URL";

/** The URL of a database on the test server whose role may create databases. */
let adminUrl: Promise<string> | null = null;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** The folder of this process's cluster: shared by every test module of the process. */
function processClusterDir(): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/forkflow-test-pg-${Deno.pid}`;
}

const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;

/** Runs the shell `command` once process `pid` has exited, even if it was killed. */
async function whenProcessExits(pid: number, command: string): Promise<void> {
  const loop =
    `while kill -0 ${pid} 2>/dev/null; do sleep 0.5; done; ${command}`;
  // sh backgrounds the loop in its own session and returns at once.
  await new Deno.Command("sh", {
    args: ["-c", `setsid sh -c ${quote(loop)} >/dev/null 2>&1 </dev/null &`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
}

/** Stops and deletes the cluster in `dir` once process `pid` has exited, even if it was killed. */
export async function spawnWatchdog(dir: string, pid: number): Promise<void> {
  const script = new URL("../tasks/pg.ts", import.meta.url).pathname;
  const stop = [
    Deno.execPath(),
    "run",
    "-A",
    script,
    "stop",
    "--dir",
    dir,
    "--wipe",
    "--mode",
    "immediate",
    "-q",
  ].map(quote).join(" ");
  await whenProcessExits(pid, `${stop}; rm -rf ${quote(dir)}`);
}

async function startProcessCluster(): Promise<string> {
  const dir = processClusterDir();
  const res = await startCluster({ dir, port: 0, quiet: true });
  if (!res.alreadyRunning) await spawnWatchdog(dir, Deno.pid);
  return res.url;
}

function getAdminUrl(): Promise<string> {
  adminUrl ??= (async () => env(ENV_URL) ?? await startProcessCluster())();
  adminUrl.catch(() => adminUrl = null);
  return adminUrl;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Runs one statement on a short-lived admin connection (no pool outlives a test). */
async function admin(url: string, statement: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A new, empty (unmigrated) database on the test server, and how to drop it. */
export async function createTempDatabase(): Promise<
  { url: string; drop(): Promise<void> }
> {
  const base = await getAdminUrl();
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await admin(base, `CREATE DATABASE ${name}`);
  return {
    url: withDatabase(base, name),
    drop: () => admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A store on a new, empty database of the test server. */
export async function openTempPostgres(): Promise<TestDb> {
  const { url, drop } = await createTempDatabase();
  let store;
  try {
    store = await openPostgresStore(url);
  } catch (e) {
    await drop();
    throw e;
  }
  return {
    store,
    url,
    async cleanup() {
      await store.close();
      await drop();
    },
  };
}

/** Why PostgreSQL tests cannot run here, or undefined when they can (or must, under CI). */
export function postgresSkipReason(): string | undefined {
  if (env(ENV_URL) || findPgBinDir() !== null) return undefined;
  if (env("CI") === "true") return undefined; // CI must fail, not skip
  return `no PostgreSQL: set ${ENV_URL} or install the server binaries (initdb, pg_ctl)`;
}

/** PostgreSQL for the suites: skipped (with the reason) only outside CI and without a server. */
export function postgresTestBackend(): TestBackend {
  const skip = postgresSkipReason();
  if (skip) console.error(`postgres tests skipped: ${skip}`);
  return { name: "postgres", skip, open: openTempPostgres };
}

/** A `deno run main.ts` child process and its base URL. */
export interface ServerProcess {
  base: string;
  pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then waits for the exit; resolves to the exit code. */
  stop(): Promise<number>;
  /** The last 20 kB the process wrote to stderr. */
  output(): string;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Starts main.ts with `env` on a free loopback port; resolves once it listens.
 * With `fdLimit`, the server runs under `ulimit -n fdLimit`.
 */
export async function startServer(
  env: Record<string, string>,
  { fdLimit }: { fdLimit?: number } = {},
): Promise<ServerProcess> {
  const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];
  const inherited = Object.fromEntries(
    keep.flatMap((k) => {
      const v = Deno.env.get(k);
      return v === undefined ? [] : [[k, v]];
    }),
  );
  // `exec` keeps the pid, so the watchdog below still finds main.ts under it.
  const [command, args] = fdLimit === undefined
    ? [Deno.execPath(), ["run", "-A", MAIN]]
    : ["sh", [
      "-c",
      `ulimit -n ${fdLimit} && exec "$0" run -A "$1"`,
      Deno.execPath(),
      MAIN,
    ]];
  const child = new Deno.Command(command, {
    args,
    env: { ...inherited, HOST: "127.0.0.1", PORT: "0", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let base: string | null = null;
  while (base === null) {
    const { value, done } = await lines.read();
    if (done) {
      await status;
      throw new Error(`server did not start:\n${log}`);
    }
    log += value;
    base = /listening on (http:\/\/[\d.]+:\d+)/.exec(log)?.[1] ?? null;
  }
  // A test process that is killed must not leave its server behind.
  // (Only if that pid still runs main.ts: pids get reused.)
  const ours =
    `tr '\\0' ' ' < /proc/${child.pid}/cmdline 2>/dev/null | grep -qF ${
      quote(MAIN)
    }`;
  await whenProcessExits(
    Deno.pid,
    `${ours} && kill -TERM ${child.pid}; sleep 5; ${ours} && kill -KILL ${child.pid}`,
  );
  // Keep draining stderr so the child never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      log = (log + value).slice(-20_000);
    }
  })();
  return {
    base,
    pid: child.pid,
    alive: () => !exited,
    output: () => log,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      // A shutdown that hangs must fail its test, not stall the whole suite.
      const stuck = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, 15_000);
      const { code } = await status.finally(() => clearTimeout(stuck));
      await drained;
      return code;
    },
  };
}
