// Shared by the kitchen and cashier pages: API calls and the resuming event feed.
// Plain ES module, no build step. Text from the server is only ever put in the
// page with textContent (see el()), never as HTML.

import { askForToken, authHeaders } from "./auth.js";

// The staff token (entered once, see auth.js) goes with every call.
export { authHeaders };

/** fetch() with JSON in and out and the staff token; resolves to {status, ok, body, headers}. */
export async function api(
  path,
  { method = "GET", body, headers = {}, signal } = {},
) {
  const res = await fetch(path, {
    method,
    headers: {
      Accept: "application/json",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...authHeaders(),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    signal,
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  // No or a wrong token: ask once, then retry with the one entered.
  if (res.status === 401 && await askForToken(errorMessage(json, ""))) {
    return api(path, { method, body, headers, signal });
  }
  return { status: res.status, ok: res.ok, body: json, headers: res.headers };
}

/** The error message of a native error body, or a fallback. */
export function errorMessage(body, fallback) {
  return body?.error?.message ?? fallback;
}

/** Creates an element with a class and text (textContent: hostile input stays text). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A random UUID, also where crypto.randomUUID is missing (plain-http LAN pages). */
export function uuid() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${
    h.slice(16, 20)
  }-${h.slice(20)}`;
}

/**
 * Follows /kitchen/events. EventSource itself reconnects with Last-Event-ID;
 * when it gives up (readyState CLOSED, e.g. a proxy answered 502 during a
 * restart) a new one is opened with ?after=<last id>, so nothing is missed.
 *
 * @param {{types: string[], onEvent: (type: string, data: any, id: number) => void,
 *   onStatus?: (s: "connecting"|"live"|"reconnecting") => void,
 *   onReady?: (lastEventId: number, first: boolean) => void}} opts
 */
export function liveFeed({ types, onEvent, onStatus = () => {}, onReady }) {
  let lastId = null;
  let source = null;
  let delay = 1000;
  let readyOnce = false;
  let timer = null;
  let stopped = false;

  const open = () => {
    timer = null;
    const url = lastId === null
      ? "/kitchen/events"
      : `/kitchen/events?after=${lastId}`;
    source = new EventSource(url);
    onStatus("connecting");
    source.addEventListener("ready", (e) => {
      lastId = Number(e.lastEventId);
      delay = 1000;
      onStatus("live");
      const first = !readyOnce;
      readyOnce = true;
      onReady?.(lastId, first);
    });
    for (const type of types) {
      source.addEventListener(type, (e) => {
        lastId = Number(e.lastEventId);
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        onEvent(type, data, lastId);
      });
    }
    source.onerror = () => {
      onStatus("reconnecting");
      if (source.readyState === EventSource.CLOSED && timer === null) {
        source.close();
        timer = -1;
        // EventSource hides the status: a plain read asks for the token on a 401 (auth.js).
        api("/kitchen/orders").catch(() => {}).finally(() => {
          if (stopped) return;
          timer = setTimeout(open, delay);
          delay = Math.min(delay * 2, 10_000);
        });
      }
    };
  };
  open();
  return {
    get lastEventId() {
      return lastId;
    },
    close() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      source?.close();
    },
  };
}

/** Renders the connection state into an indicator element. */
export function showConnection(node, state) {
  const label = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
  }[state] ?? state;
  node.textContent = label;
  node.dataset.state = state;
}
