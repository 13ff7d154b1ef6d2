/**
 * CLI over the throwaway local PostgreSQL cluster in `db/postgres/cluster.ts`.
 *
 * CLI:    deno run -A tasks/pg.ts start|stop|status|url [--dir DIR] [--port N]
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  clusterStatus,
  clusterUrl,
  DEFAULT_PG_PORT,
  DEFAULT_TIMEOUT_MS,
  startCluster,
  stopCluster,
  type StopOptions,
} from "../db/postgres/cluster.ts";

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
