/** `/kitchen`: what the kitchen screen reads, its live event stream and the page itself. */
import { Hono } from "hono";
import { z } from "zod";
import { BadRequestError } from "../domain/errors.ts";
import { orderJson } from "../domain/wire.ts";
import { ErrorOut, OrderOut } from "../domain/wire_schemas.ts";
import { feedOf } from "../kitchen/feed.ts";
import { openEventStream } from "../kitchen/sse.ts";
import type { AppDeps } from "./_deps.ts";
import { query } from "./_http.ts";
import { listGateOf } from "./_list_gate.ts";
import type { OpDoc } from "./_openapi.ts";
import { servePage } from "./pages.ts";

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Query of `GET /kitchen/events`. */
export const EventStreamQuery = z.strictObject({
  after: z.string().regex(/^\d{1,15}$/, "Expected an event id").transform(
    Number,
  ).optional().meta({
    description:
      "Replay events with a larger id first (Last-Event-ID wins when both are sent)",
    example: "0",
  }),
});

/** The resume point: `Last-Event-ID` (what EventSource sends on reconnect) wins over `?after=`. */
function resumeAfter(
  header: string | undefined,
  after: number | undefined,
): number | undefined {
  if (header === undefined || header.trim() === "") return after;
  const id = header.trim();
  if (!/^\d{1,15}$/.test(id) || Number(id) > MAX_ID) {
    throw new BadRequestError(
      "invalid_last_event_id",
      `Last-Event-ID must be an event id, not "${id.slice(0, 40)}"`,
      { header: "Last-Event-ID" },
    );
  }
  return Number(id);
}

/** Mounted at `/kitchen`. */
export function kitchenRoutes({ store, shutdown }: AppDeps) {
  const gate = listGateOf(store);
  return new Hono()
    .get("/orders", async (c) => {
      // Every screen asks for the same list: one read, rendered once, shared.
      const json = await gate.shared(
        "kitchen:active",
        async () =>
          JSON.stringify((await store.listActiveOrders()).map(orderJson)),
      );
      return c.body(json, 200, { "Content-Type": "application/json" });
    })
    .get("/events", async (c) => {
      const q = query(c, EventStreamQuery);
      const after = resumeAfter(c.req.header("last-event-id"), q.after);
      const headers = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
      };
      // Hono answers HEAD with the GET route: a probe gets the headers
      // without holding a feed subscription until the slow-client drop.
      if (c.req.method === "HEAD") return new Response(null, { headers });
      const stream = await openEventStream(feedOf(store), {
        after,
        // A client that goes away cancels the body stream; the request signal
        // is not used (Deno aborts it on success too, and warns).
        signal: shutdown,
      });
      return new Response(stream, { headers });
    })
    .get("/display", (c) => servePage(c, "display.html"))
    .get(
      "/assets/:file{[\\w-]+\\.(?:js|css|wav)}",
      (c) => servePage(c, c.req.param("file")),
    );
}

const err = (description: string) => ({ description, schema: ErrorOut });

/** OpenAPI entries of `/kitchen`. */
export const kitchenDocs: OpDoc[] = [
  {
    method: "get",
    path: "/kitchen/orders",
    tag: "Kitchen",
    summary: "Active orders (pending, in_progress, ready), oldest first",
    responses: {
      200: { description: "Orders", schema: OrderOut.array() },
      503: err("Too many order lists being read at once (Retry-After)"),
    },
  },
  {
    method: "get",
    path: "/kitchen/events",
    tag: "Kitchen",
    summary: "Live event stream (server-sent events)",
    description:
      "Each message has `id:` (the events table id), `event:` (order.created, order.updated, menu.updated, inventory.updated, inventory.low) and one-line JSON `data:` (the order, menu item or inventory item as the REST API shows it). " +
      "With `Last-Event-ID` (sent by EventSource on reconnect) or `?after=`, the events above that id are replayed from the log first, then the stream goes live with no gap and no duplicate; without either it starts from now. " +
      'Once the replay is done (at once without one) a `ready` event carries `{"last_event_id": N}` with `id: N`, so even a client that has seen no event yet resumes from there. ' +
      "A `retry:` hint is sent first and a `: heartbeat` comment at least every 15 s. A client that stops reading is dropped and should reconnect with its last id.",
    query: EventStreamQuery,
    headers: [{
      name: "Last-Event-ID",
      description: "Resume after this event id (wins over ?after=)",
    }],
    responses: {
      200: { description: "The event stream", type: "text/event-stream" },
      400: err("Malformed Last-Event-ID"),
      422: err("Malformed ?after="),
    },
  },
  {
    method: "get",
    path: "/kitchen/display",
    tag: "Kitchen",
    summary: "The kitchen screen (HTML)",
    description:
      "Query: ?station=<menu category>, ?warn=<minutes> (default 5), ?late=<minutes> (default 8).",
    responses: { 200: { description: "The page", type: "text/html" } },
  },
];
