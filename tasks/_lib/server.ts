/** ForkFlow as a child process on loopback: start on a database, SIGKILL, restart, stop. */
import { fileURLToPath } from "node:url";
import { sleep } from "./cli.ts";

/** The repository root (where `main.ts` lives). */
export const REPO_ROOT: string = fileURLToPath(
  new URL("../../", import.meta.url),
);

/** How to start the child server. */
export interface ServerOptions {
  /** `DATABASE_URL` of the child; required (see `openDatabase`). */
  databaseUrl: string;
  /** Loopback port; default a free one, kept across restarts. */
  port?: number;
  /** Extra environment (e.g. `VENDING_PROCESSING_MS`). */
  env?: Record<string, string>;
  /** How long to wait for `/health` (default 30 s). */
  startTimeoutMs?: number;
}

/** A running child server. */
export interface ChildServer {
  readonly url: string;
  readonly databaseUrl: string;
  /** Process id of the current incarnation. */
  pid(): number;
  /** SIGKILLs the child and waits until it is gone; resolves to the ms it took. */
  kill(): Promise<number>;
  /** Starts it again on the same database and port; resolves to the ms until healthy. */
  restart(): Promise<number>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** The last lines the server printed (for diagnostics). */
  logTail(): string[];
  /** Lines with `"level":"error"` the server logged, over every incarnation. */
  errorLines(): number;
}

/** How reports describe a self-started server on `dbLabel`. */
export function childLabel(url: string, dbLabel: string): string {
  return `child server ${url} (LOG_LEVEL=warn) on ${dbLabel}`;
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `GET /health` until it answers 200, or throws after `timeoutMs`. */
export async function waitHealthy(
  url: string,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`server exited before it was healthy`);
    try {
      const res = await fetch(`${url}/health`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(50);
  }
  throw new Error(
    `server at ${url} not healthy after ${timeoutMs} ms (${last})`,
  );
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
) {
  let rest = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      parts.forEach(onLine);
    }
  } catch { /* the process died mid-line */ }
  if (rest) onLine(rest);
}

const live = new Set<Deno.ChildProcess>();
let trapped = false;

/** Ctrl-C or SIGTERM on the task must not leave a server behind. */
function trapSignals() {
  if (trapped) return;
  trapped = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      for (const c of live) c.kill("SIGKILL");
      Deno.exit(130);
    });
  }
}

/** Starts `deno run -A main.ts` on loopback and waits until `/health` answers. */
export async function startServer(opts: ServerOptions): Promise<ChildServer> {
  const port = opts.port ?? freePort();
  const url = `http://127.0.0.1:${port}`;
  const tail: string[] = [];
  let errors = 0;
  const onLine = (line: string) => {
    if (line.includes('"level":"error"')) errors++;
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  let child!: Deno.ChildProcess;
  let exited = false;
  let pipes: Promise<unknown> = Promise.resolve();

  const spawn = async () => {
    const t0 = performance.now();
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: REPO_ROOT,
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_URL: opts.databaseUrl,
        DEMO_DATA: "1",
        // A self-started server is open for administration (menu, vending set-up).
        ADMIN_TOKEN: "",
        STAFF_TOKEN: "",
        ALLOW_OPEN: "1",
        // One log line per request would be piped through this process: keep warnings and errors.
        LOG_LEVEL: "warn",
        ...opts.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    exited = false;
    trapSignals();
    const me = child;
    live.add(me);
    child.status.then(() => {
      exited = true;
      live.delete(me);
    });
    pipes = Promise.all([
      drain(child.stdout, onLine),
      drain(child.stderr, onLine),
    ]);
    try {
      await waitHealthy(url, opts.startTimeoutMs ?? 30_000, () => !exited);
    } catch (e) {
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await pipes;
      throw new Error(
        `${(e as Error).message}; last output:\n${tail.slice(-15).join("\n")}`,
      );
    }
    return performance.now() - t0;
  };

  await spawn();
  return {
    url,
    databaseUrl: opts.databaseUrl,
    pid: () => child.pid,
    async kill() {
      const t0 = performance.now();
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await pipes;
      return performance.now() - t0;
    },
    restart: spawn,
    async stop() {
      if (exited) return void await pipes;
      child.kill("SIGTERM");
      const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(timer);
      await pipes;
    },
    logTail: () => [...tail],
    errorLines: () => errors,
  };
}
