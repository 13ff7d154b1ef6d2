/** OpenAPI 3.1 built from the same zod schemas that validate requests. */
import { z } from "zod";
import { ErrorOut } from "../domain/wire_schemas.ts";
import { type Access, ruleFor } from "./_auth.ts";

/** One documented operation. */
export interface OpDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI path, e.g. `/orders/{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Extra header parameters, e.g. `Idempotency-Key`. */
  headers?: { name: string; description: string; required?: boolean }[];
  /** Status code -> description, optionally with a response schema. */
  responses: Record<
    string,
    string | { description: string; schema?: z.ZodType; type?: string }
  >;
}

/**
 * The `Idempotency-Key` header as documented on every creating POST, with the
 * key's expiry policy, which draft-ietf-httpapi-idempotency-key-header asks a
 * resource to publish.
 */
export const IDEMPOTENCY_HEADER = {
  name: "Idempotency-Key",
  description: [
    'A Structured Field String (RFC 8941 §3.3.3) as draft-ietf-httpapi-idempotency-key-header defines it: quoted, printable ASCII including spaces, with \\" and \\\\ the only escapes, e.g. "order 42 terminal 3"; or, for compatibility, a bare token of visible ASCII without spaces or quotes.',
    'The key is the unescaped string, 1-255 characters long: "abc" and abc are the same key. Anything else is a 400 invalid_idempotency_key.',
    "Scope: this route and the key. A replay answers the stored status and body with Idempotent-Replayed: true; the same key with another body is a 422 idempotency_key_reused; a duplicate arriving while the first is still running waits up to 2 s, then gets the replay or a 409 with Retry-After. Refused requests (4xx) store nothing.",
    "Expiry: a key is kept for at least IDEMPOTENCY_TTL_S seconds from its first request (default 86400, 24 hours) and purged within a minute after that; a request with a purged key is processed as a new one.",
  ].join(" "),
};

/** Named schemas hoisted out of every operation into `components.schemas`. */
const components: Record<string, unknown> = {};

function hoist(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(hoist);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$schema") continue;
    if (k === "$defs") {
      for (const [name, def] of Object.entries(v as Record<string, unknown>)) {
        components[name] = hoist(def);
      }
      continue;
    }
    out[k] = k === "$ref" && typeof v === "string"
      ? v.replace("#/$defs/", "#/components/schemas/")
      : hoist(v);
  }
  return out;
}

function schemaOf(s: z.ZodType, io: "input" | "output") {
  return hoist(
    z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }),
  );
}

function parameters(op: OpDoc) {
  const params: unknown[] = [];
  for (const m of op.path.matchAll(/\{(\w+)\}/g)) {
    params.push({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "integer", minimum: 1 },
    });
  }
  if (op.query) {
    const js = schemaOf(op.query, "input") as {
      properties?: Record<string, { description?: string }>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      params.push({
        name,
        in: "query",
        required: js.required?.includes(name) ?? false,
        description: schema.description,
        schema,
      });
    }
  }
  for (const h of op.headers ?? []) {
    params.push({
      ...h,
      in: "header",
      required: h.required ?? false,
      schema: { type: "string" },
    });
  }
  return params;
}

function responses(op: OpDoc) {
  return Object.fromEntries(
    Object.entries(op.responses).map(([code, r]) => {
      const d = typeof r === "string" ? { description: r } : r;
      const content = d.schema
        ? {
          [d.type ?? "application/json"]: {
            schema: schemaOf(d.schema, "output"),
          },
        }
        : d.type
        ? { [d.type]: {} }
        : undefined;
      return [code, {
        description: d.description,
        ...(content ? { content } : {}),
      }];
    }),
  );
}

/** When each kind of access asks for a token (see `ACCESS_RULES`). */
const WHEN_TOKEN: Record<Exclude<Access, "public">, string> = {
  read: "only when the server sets PROTECT_READS=1",
  order: "only when the server sets PROTECT_ORDERING=1",
  staff: "the staff or admin token",
  admin: "the admin token",
};

/**
 * Security of one operation from the same rules the server enforces: none for
 * public routes; otherwise the bearer scheme (optional where a setting turns
 * it on) and the 401/403 answers, unless the operation documents its own.
 */
function access(op: OpDoc) {
  // Any concrete value stands in for a path parameter when matching the rules.
  const path = op.path.replace(/\{[^}]+\}/g, "1");
  const need = ruleFor(op.method, path).access;
  if (need === "public") return { security: [], responses: op.responses };
  const optional = need === "read" || need === "order";
  const denied = (description: string) => ({ description, schema: ErrorOut });
  return {
    security: optional ? [{}, { bearer: [] }] : [{ bearer: [] }],
    responses: {
      ...op.responses,
      401: op.responses[401] ??
        denied(
          `Missing or invalid bearer token (${
            WHEN_TOKEN[need]
          }; only when ADMIN_TOKEN is set)`,
        ),
      ...(need === "admin"
        ? {
          403: op.responses[403] ??
            denied("The staff token is not enough: this needs the admin token"),
        }
        : {}),
    },
  };
}

/** Builds the whole document. */
export function openApiDocument(ops: OpDoc[], info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of ops) {
    const { security, responses: withAuth } = access(doc);
    const op = { ...doc, responses: withAuth };
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      tags: [op.tag],
      summary: op.summary,
      description: op.description,
      parameters: parameters(op),
      ...(op.body
        ? {
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: schemaOf(op.body, "input") },
            },
          },
        }
        : {}),
      responses: responses(op),
      security,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "ForkFlow",
      version: info.version,
      description:
        "Restaurant order backbone: native API, Bistro92 table-order API and vending orchestrator API. Errors: {error:{code,message,details}}.",
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "ADMIN_TOKEN or STAFF_TOKEN. Without ADMIN_TOKEN on the server every route is open; the pages may send the token as the forkflow_token cookie instead.",
        },
      },
    },
  };
}
