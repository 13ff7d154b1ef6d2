/**
 * Finding the PostgreSQL server binaries (initdb, pg_ctl, postgres) a
 * throwaway cluster runs with.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import {
  type ClusterOptions,
  type Layout,
  readTextSync,
} from "./cluster_layout.ts";

const REQUIRED_BINARIES = ["initdb", "pg_ctl", "postgres"] as const;

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

/** The bin dir to run this cluster with: the option, the cluster's own major version, else {@link findPgBinDir}. */
export function resolveBinDir(opts: ClusterOptions, layout: Layout): string {
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
export function tool(binDir: string, name: string): string {
  const p = join(binDir, name);
  return isExecutable(p) ? p : name;
}
