/** Request parsing shared by the routes: size, content type, JSON, schema. */
import type { Context } from "hono";
import type { z } from "zod";
import {
  BadRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../domain/errors.ts";
import { IdParam } from "../domain/schemas.ts";

/** Turns zod issues into `{path, message}` pairs for `error.details.issues`. */
export function issuesOf(error: z.ZodError) {
  return error.issues.map((i) => ({
    path: i.path.map(String).join("."),
    message: i.message,
  }));
}

/** Validates with `schema` or throws a 422 listing every problem. */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = issuesOf(r.error);
  const first = issues[0]!;
  throw new ValidationError(
    "validation_failed",
    `Invalid ${what}: ${first.path ? `${first.path}: ` : ""}${first.message}`,
    { issues },
  );
}

/**
 * Reads the body up to `limit`. Not Hono's `bodyLimit`: its 413 comes from a
 * middleware, while each surface (native, Bistro92, Laravel) renders the
 * error in its own shape from the PayloadTooLargeError thrown here.
 */
async function readLimited(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  const tooLarge = () =>
    new PayloadTooLargeError(
      "body_too_large",
      `Request body is larger than ${limit} bytes`,
      {
        limit,
      },
    );
  if (declared > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  if (
    c.req.header("content-length") !== undefined &&
    !c.req.header("transfer-encoding")
  ) {
    // The HTTP layer never yields more than a declared length: read it in one go.
    try {
      return new Uint8Array(await c.req.raw.arrayBuffer());
    } catch {
      throw new BadRequestError(
        "incomplete_body",
        "Request body ended early or could not be read",
      );
    }
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof PayloadTooLargeError) throw e;
    // The client sent less than its Content-Length and hung up, or the stream broke.
    throw new BadRequestError(
      "incomplete_body",
      "Request body ended early or could not be read",
    );
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}

// One decoder for every body: a decode without `stream` starts afresh.
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Reads the raw JSON body: 413 over the limit, 415 if not JSON, 400 if malformed. */
export async function rawJson(c: Context, limit: number): Promise<unknown> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim()
    .toLowerCase();
  if (
    type !== "application/json" && !/^application\/[\w.+-]*\+json$/.test(type)
  ) {
    throw new UnsupportedMediaTypeError(
      "unsupported_media_type",
      `Content-Type must be application/json, not "${type || "none"}"`,
    );
  }
  const bytes = await readLimited(c, limit);
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    throw new BadRequestError(
      "invalid_utf8",
      "Request body is not valid UTF-8",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BadRequestError(
      "malformed_json",
      `Request body is not valid JSON: ${(e as Error).message}`,
    );
  }
  checkJsonValue(value);
  return value;
}

/** Deepest nesting a JSON body may use; real bodies need 3 levels. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses JSON that no route can handle safely: nesting deeper than
 * `MAX_JSON_DEPTH` (400; recursive code such as the idempotency fingerprint
 * would overflow the stack) and text no database stores as sent (422): NUL
 * characters (truncated by SQLite's C API, refused by PostgreSQL) and
 * unpaired surrogates (not encodable as UTF-8). It recurses, but stops at
 * `MAX_JSON_DEPTH`, so its own stack stays shallow however deep the body.
 */
export function checkJsonValue(value: unknown, depth = 0): void {
  if (typeof value === "string") return checkText(value);
  if (value === null || typeof value !== "object") return;
  if (depth >= MAX_JSON_DEPTH) {
    throw new BadRequestError(
      "json_too_deep",
      `Request body nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  if (Array.isArray(value)) {
    for (const child of value) checkJsonValue(child, depth + 1);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    checkText(k);
    checkJsonValue(obj[k], depth + 1);
  }
}

function checkText(s: string): void {
  if (s.includes("\u0000") || !s.isWellFormed()) {
    throw new ValidationError(
      "invalid_text",
      "Text must not contain NUL characters or unpaired surrogates",
    );
  }
}

/** Reads and validates a JSON body. */
export async function jsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  limit: number,
): Promise<{ raw: unknown; data: z.output<S> }> {
  const raw = await rawJson(c, limit);
  return { raw, data: check(schema, raw, "request body") };
}

/** Validates the query string. */
export function query<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const q = c.req.query();
  for (const [k, v] of Object.entries(q)) {
    checkText(k);
    checkText(v);
  }
  return check(schema, q, "query");
}

/** The `{id}` path parameter as a positive integer (422 otherwise). */
export function pathId(c: Context, name = "id"): number {
  return check(IdParam, { id: c.req.param(name) }, "id").id;
}

/** Sets `Link: <…>; rel="next"` for a cursor page. */
export function linkNext(
  c: Context,
  params: Record<string, string | number>,
): void {
  const url = new URL(c.req.url);
  for (const [k, v] of Object.entries(params)) {
    url.searchParams.set(k, String(v));
  }
  c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
}
