/**
 * Whether a throwaway cluster runs, on which port and PID, and its URLs.
 *
 * @module
 */
import { join } from "node:path";
import {
  type ClusterOptions,
  isInitialized,
  type Layout,
  preferredPort,
  rememberedPort,
  socketUrlFor,
  urlFor,
} from "./cluster_layout.ts";
import { oneLine, run } from "./cluster_run.ts";

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

/** Asks pg_ctl whether a postmaster runs on the data directory. */
export async function statusOf(
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
