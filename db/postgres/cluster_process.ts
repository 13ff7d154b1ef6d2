/**
 * Starting and stopping a throwaway cluster's postmaster with pg_ctl, and
 * waiting until it accepts TCP connections.
 *
 * @module
 */
import { join } from "node:path";
import { tool } from "./cluster_bin.ts";
import { type Layout, PG_SUPERUSER } from "./cluster_layout.ts";
import { oneLine, run } from "./cluster_run.ts";
import { statusOf } from "./cluster_status.ts";

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

/** Starts the postmaster with pg_ctl and waits for TCP; on failure stops it and throws with the log's tail. */
export async function launch(
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

/** Stops the postmaster in `mode`, retrying with immediate; throws if it still runs. */
export async function shutdown(
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
