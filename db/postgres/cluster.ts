/**
 * Throwaway local PostgreSQL cluster for development and tests.
 *
 * CLI:    deno run -A tasks/pg.ts start|stop|status|url [--dir DIR] [--port N]
 * Module: import { startCluster, stopCluster } from "./db/postgres/cluster.ts";
 *
 * The cluster lives in `<repo>/.pg/` (data in `data/`, unix socket in `run/`,
 * server log in `log`, chosen TCP port in `port`), listens on 127.0.0.1 only and
 * trusts loopback connections as superuser `postgres`. Durability settings
 * (`fsync`, `synchronous_commit`) are deliberately left on.
 *
 * Split by concern: `cluster_layout.ts` (paths, ports, URLs, lock),
 * `cluster_bin.ts` (finding the binaries), `cluster_run.ts` (child processes),
 * `cluster_config.ts` (initdb and settings), `cluster_status.ts` and
 * `cluster_process.ts` (pg_ctl status, start and stop).
 *
 * @module
 */
import { resolveBinDir } from "./cluster_bin.ts";
import {
  choosePort,
  ensureDatabase,
  initCluster,
  prepareFolder,
  writeServerConf,
} from "./cluster_config.ts";
import {
  assertOwnedFolder,
  checkSocketPath,
  type ClusterOptions,
  DEFAULT_TIMEOUT_MS,
  exists,
  isInitialized,
  layoutFor,
  preferredPort,
  rememberedPort,
  urlFor,
  withLock,
  writeText,
} from "./cluster_layout.ts";
import { launch, shutdown } from "./cluster_process.ts";
import { logger, ownerIds, remaining, seconds } from "./cluster_run.ts";
import { type ClusterStatus, statusOf } from "./cluster_status.ts";

export { findPgBinDir } from "./cluster_bin.ts";
export {
  type ClusterOptions,
  DEFAULT_PG_DIR,
  DEFAULT_PG_PORT,
  DEFAULT_TIMEOUT_MS,
  PG_DATABASE,
  PG_SUPERUSER,
} from "./cluster_layout.ts";
export type { ClusterStatus } from "./cluster_status.ts";

/** Options for {@link stopCluster}. */
export interface StopOptions extends ClusterOptions {
  /** Also delete the whole cluster folder after stopping. */
  wipe?: boolean;
  /** pg_ctl shutdown mode; default "fast" ("immediate" simulates a crash). */
  mode?: "smart" | "fast" | "immediate";
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
