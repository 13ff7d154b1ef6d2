/**
 * `serve(fetch, options)`: the HTTP server, with the limits `Deno.serve`
 * cannot set. A connection that sends no complete request head within the
 * header timeout is closed (idle keep-alive ones too), connections beyond
 * `maxConnections` are closed as they arrive, and SSE and WebSocket streams
 * count against that limit for as long as they are open.
 *
 * Why node:http: `Deno.serve` (Deno 2.9) has no header timeout, no
 * connection hook and exits the process when accept() fails with EMFILE;
 * node:http has `headersTimeout`, `maxConnections` and a `connection` event.
 * Deno's node:net listener stops accepting for good after an EMFILE, and it
 * accepts its whole queue before any connection can be refused; so the
 * limit and a short listen queue together keep descriptors free for every
 * accept (see `fdHeadroom` in config.ts).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { type FetchHandler, nodeListener, peerOf } from "./node_bridge.ts";
// @ts-types="@types/ws"
import { WebSocketServer } from "ws";

export type { FetchHandler } from "./node_bridge.ts";

/** How `serve` listens and what it allows. */
export interface ServeOptions {
  port: number;
  hostname: string;
  /** Close a connection that sends no complete request head for this long. */
  headerTimeoutMs: number;
  /** Open connections beyond which new ones are closed at once. */
  maxConnections: number;
  /** Length of the kernel's accept queue. */
  backlog?: number;
  /** Request bodies are read up to one byte past this; the app answers 413. */
  maxBodyBytes: number;
  /** Called once listening, with the bound address. */
  onListen?: (addr: { hostname: string; port: number }) => void;
  /** Where connection warnings go (one line each, rate-limited). */
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** A running server. */
export interface RunningServer {
  /** Resolves once listening, with the bound port. */
  listening: Promise<{ hostname: string; port: number }>;
  /** Connections open right now (streams included). */
  connections(): number;
  /**
   * Stops accepting, lets in-flight requests finish (each answer closes its
   * connection) and resolves once every connection is closed.
   */
  shutdown(): Promise<void>;
  /** Closes every connection at once (after a shutdown grace ran out). */
  closeAll(): void;
}

/** A request body must arrive within this long (or the header timeout, if longer). */
const REQUEST_TIMEOUT_MS = 30_000;
/** At most one "limit reached" warning per this period. */
const WARN_EVERY_MS = 10_000;

/** Serves `fetch` with a header timeout and a connection limit. */
export function serve(
  fetch: FetchHandler,
  options: ServeOptions,
): RunningServer {
  const sockets = new Set<Socket>();
  let closing = false;
  const warn = rateLimited(options.warn ?? defaultWarn);
  const server = createAdaptorServer({
    fetch: withPeer(fetch),
    hostname: options.hostname,
    // Deno's own Request/Response stay global: the app relies on them.
    overrideGlobalObjects: false,
    websocket: { server: new WebSocketServer({ noServer: true }) },
    // HTTP requests take the lean bridge; @hono/node-server keeps only the
    // WebSocket upgrade (the listener it passes here goes unused).
    createServer: ((opts: object) => {
      const listener = nodeListener(fetch, options);
      return createServer(opts, (req, res) => {
        // While draining, every answer closes its connection, so keep-alive
        // clients cannot hold the server open with new requests.
        if (closing) res.shouldKeepAlive = false;
        listener(req, res);
      });
    }) as unknown as typeof createServer,
    serverOptions: nodeTimeouts(options.headerTimeoutMs),
  }) as Server;
  server.maxConnections = options.maxConnections;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    if (sockets.size >= options.maxConnections) {
      warn("connection limit reached; new connections are closed", {
        max_connections: options.maxConnections,
      });
    }
  });
  const listening = new Promise<{ hostname: string; port: number }>(
    (resolve, reject) => {
      server.once("error", reject);
      const { port, hostname: host, backlog } = options;
      server.listen({ port, host, backlog }, () => {
        server.off("error", reject);
        // Deno's node:net does not report accept() failures today; if it
        // ever does, they are logged and the server goes on.
        server.on("error", (e) => warn("accept failed", { error: String(e) }));
        const a = server.address() as AddressInfo;
        const addr = { hostname: a.address, port: a.port };
        options.onListen?.(addr);
        resolve(addr);
      });
    },
  );
  return {
    listening,
    connections: () => sockets.size,
    shutdown() {
      closing = true;
      return drain(server, sockets);
    },
    closeAll() {
      for (const s of sockets) s.destroy();
    },
  };
}

/** Adds the peer to a WebSocket upgrade's `env` in place (the upgrade keeps state on it). */
function withPeer(fetch: FetchHandler): FetchHandler {
  return (request, env) => {
    env.remoteAddr = peerOf(env.incoming as IncomingMessage);
    return fetch(request, env);
  };
}

/** node:http's timeouts for a header timeout; its checks run often enough to honour it. */
function nodeTimeouts(headerTimeoutMs: number) {
  return {
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headerTimeoutMs),
    keepAliveTimeout: headerTimeoutMs,
    connectionsCheckingInterval: Math.max(
      50,
      Math.min(1000, Math.floor(headerTimeoutMs / 4)),
    ),
  };
}

/** Stops listening, then closes connections as they fall idle until none is left. */
function drain(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close();
    const tick = () => {
      server.closeIdleConnections();
      if (sockets.size === 0) return resolve();
      setTimeout(tick, 50);
    };
    tick();
  });
}

function rateLimited(
  warn: (msg: string, fields: Record<string, unknown>) => void,
) {
  const last = new Map<string, number>();
  return (msg: string, fields: Record<string, unknown>) => {
    const now = Date.now();
    if (now - (last.get(msg) ?? -Infinity) < WARN_EVERY_MS) return;
    last.set(msg, now);
    warn(msg, fields);
  };
}

function defaultWarn(msg: string, fields: Record<string, unknown>) {
  console.error(JSON.stringify({ level: "warn", msg, ...fields }));
}
