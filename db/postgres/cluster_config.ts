/**
 * Writing a throwaway cluster: the folder skeleton, initdb, the server
 * settings rewritten on every start, the port, and the application database.
 *
 * @module
 */
import { join } from "node:path";
import { tool } from "./cluster_bin.ts";
import {
  type ClusterOptions,
  CONF_FILE,
  DEFAULT_PG_PORT,
  exists,
  type Layout,
  MARKER_FILE,
  PG_DATABASE,
  PG_SUPERUSER,
  rememberedPort,
  writeText,
} from "./cluster_layout.ts";
import { chownIfExists, oneLine, type Owner, run } from "./cluster_run.ts";

/** Create the folder skeleton; as root, hand it to the postgres user. */
export async function prepareFolder(
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

/** Runs initdb and writes the loopback-only pg_hba.conf and our include line. */
export async function initCluster(
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

/** Writes the settings file (port, socket folder, durability) read on every start. */
export async function writeServerConf(
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

/** The wanted or remembered port when free, else any free one (logged). */
export async function choosePort(
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

/** Creates the application database unless it exists. */
export async function ensureDatabase(
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
