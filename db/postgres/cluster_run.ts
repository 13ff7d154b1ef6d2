/**
 * Running PostgreSQL's tools as child processes, bounded in time, as the
 * `postgres` OS user when we are root (the server refuses to run as root).
 *
 * @module
 */
import { basename } from "node:path";
import { DEFAULT_TIMEOUT_MS } from "./cluster_layout.ts";

/** Exit code and decoded output of a finished child. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How {@link run} runs a child. */
export interface RunOptions {
  /** Run as the `postgres` OS user when we are root. */
  asPostgres?: boolean;
  cwd?: string;
  timeoutMs?: number;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
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

/** Runs `cmd` with `args` and a clean PG-free environment; kills its process group on timeout. */
export async function run(
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

/** Non-blank lines of `text` joined with " | ". */
export function oneLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim()).join(" | ");
}

/** Progress lines on stderr, prefixed "pg: ", unless quiet. */
export function logger(quiet: boolean | undefined): (msg: string) => void {
  return quiet ? () => {} : (msg) => console.error(`pg: ${msg}`);
}

/** Milliseconds as "1.2s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Milliseconds left until `deadline`, at least one second. */
export function remaining(deadline: number): number {
  return Math.max(1_000, deadline - Date.now());
}

/** uid and gid of the OS user the server runs as. */
export interface Owner {
  uid: number;
  gid: number;
}

/** uid/gid of the `postgres` OS user when we are root; null when not root. */
export async function ownerIds(): Promise<Owner | null> {
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

/** Hands `path` to `owner` (no-op when null or missing). */
export async function chownIfExists(
  path: string,
  owner: Owner | null,
): Promise<void> {
  if (!owner) return;
  try {
    await Deno.chown(path, owner.uid, owner.gid);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
