/** Browser-test plumbing: a real headless Chromium and a real server process. */
import { type Browser, chromium } from "playwright-core";

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` overrides. */
export function chromiumPath(): string {
  return Deno.env.get("CHROMIUM_PATH") || "/usr/bin/chromium";
}

/**
 * Why the browser tests cannot run here, or null when they can. Under
 * `CI=true` a missing browser is an error, not a skip.
 */
export function browserSkipReason(): string | null {
  const path = chromiumPath();
  try {
    if (Deno.statSync(path).isFile) return null;
  } catch { /* missing */ }
  const reason =
    `no Chromium at ${path} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`CI=true but the browser tests cannot run: ${reason}`);
  }
  return reason;
}

/** Launches headless Chromium; audio may start without a gesture (the kitchen beep). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const ROOT = new URL("../", import.meta.url);
const PASS_ENV = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];

/** `deno run -A main.ts` on a database URL and port, as production runs it. */
export class ServerProcess {
  #child: Deno.ChildProcess | null = null;
  #output: Promise<string> | null = null;

  /**
   * @param databaseUrl the `DATABASE_URL` of the server
   * @param port the port it listens on (kept across restarts)
   */
  constructor(readonly databaseUrl: string, readonly port: number) {}

  /** The server's base URL. */
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process and waits until `/health` answers 200. */
  async start(): Promise<void> {
    const env: Record<string, string> = {
      DATABASE_URL: this.databaseUrl,
      PORT: String(this.port),
      HOST: "127.0.0.1",
      DEMO_DATA: "0",
    };
    for (const name of PASS_ENV) {
      const v = Deno.env.get(name);
      if (v) env[name] = v;
    }
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: ROOT,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = this.#child;
    const collect = (s: ReadableStream<Uint8Array>) =>
      new Response(s).text().catch(() => "");
    this.#output = Promise.all([collect(child.stdout), collect(child.stderr)])
      .then(([out, err]) => out + err);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await fetch(`${this.base}/health`);
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`server did not start:\n${await this.#output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills the process (SIGKILL: a crash, no graceful shutdown) and waits for it; resolves to its output. */
  async kill(): Promise<string> {
    return await this.stop("SIGKILL");
  }

  /** Stops the process (SIGTERM by default) and waits for it; resolves to its output. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<string> {
    const child = this.#child;
    if (!child) return "";
    this.#child = null;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    return await this.#output!;
  }
}
