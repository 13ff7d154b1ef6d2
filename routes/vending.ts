/**
 * `/api/vending-machines` and `/api/products`: the Laravel orchestrator's
 * CRUD, with its status codes, JSON shapes and messages. Errors keep the
 * Laravel shapes (`{error}`, `{message, errors}`, `{message}`), not the
 * native `{error:{code,…}}`.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { DomainError, NotFoundError } from "../domain/errors.ts";
import { machineJson, productJson } from "../domain/vending.ts";
import {
  FieldErrors,
  MACHINE_RULES,
  modelNotFound,
  PRODUCT_RULES,
  requireFields,
  STOCK_RULES,
} from "../domain/vending_rules.ts";
import {
  LaravelErrorOut,
  LaravelFieldErrorsOut,
  LaravelNotFoundOut,
  MachineBody,
  MachineMessageOut,
  ProductBody,
  StockBody,
  VendingMachineOut,
  VendingProductOut,
} from "../domain/vending_schemas.ts";
import type { AppDeps } from "./_deps.ts";
import { answerError } from "./_errors.ts";
import { rawJson } from "./_http.ts";
import type { OpDoc } from "./_openapi.ts";

/**
 * Error handler of the vending sub-apps: Laravel's shapes. Anything that is
 * not a DomainError goes on to `app.onError` (logged 500 with a request id).
 */
export function laravelErrors(e: Error, c: Context): Response {
  if (e instanceof FieldErrors) {
    return c.json({ message: e.message, errors: e.fields }, 422);
  }
  if (e instanceof NotFoundError) return c.json({ message: e.message }, 404);
  if (!(e instanceof DomainError)) throw e;
  return answerError(c, e, { error: e.message });
}

/**
 * The request body as Laravel reads it: JSON, or nothing at all (then every
 * required field is reported missing). Wrong type 415, malformed JSON 400.
 */
export async function laravelBody(c: Context, limit: number): Promise<unknown> {
  if (!c.req.raw.body || c.req.header("content-length") === "0") return {};
  return await rawJson(c, limit);
}

/** The `{id}` path parameter: a number when it looks like one, else NaN (never found). */
export function idParam(c: Context): { id: number; raw: string } {
  const raw = c.req.param("id") ?? "";
  return { id: /^\d{1,10}$/.test(raw) ? Number(raw) : NaN, raw };
}

/** Mounted at `/api/vending-machines`. */
export function vendingMachineRoutes({ vending, config }: AppDeps) {
  const limit = config.maxBodyBytes;
  const found = async (c: Context) => {
    const { id, raw } = idParam(c);
    const m = await vending.getMachine(id);
    if (!m) throw modelNotFound("VendingMachine", raw);
    return m;
  };
  const update = async (c: Context) => {
    const m = await found(c);
    const { name } = requireFields(await laravelBody(c, limit), MACHINE_RULES);
    return c.json(machineJson(await vending.renameMachine(m.id, name)));
  };
  const app = new Hono();
  app.onError(laravelErrors);
  return app
    .get(
      "/",
      async (c) => c.json((await vending.listMachines()).map(machineJson)),
    )
    .post("/", async (c) => {
      const { name } = requireFields(
        await laravelBody(c, limit),
        MACHINE_RULES,
      );
      return c.json(machineJson(await vending.createMachine(name)), 201);
    })
    .get("/:id", async (c) => c.json(machineJson(await found(c))))
    .put("/:id", update)
    .patch("/:id", update)
    .delete("/:id", async (c) => {
      await vending.deleteMachine((await found(c)).id);
      return c.body(null, 204);
    })
    .post("/:id/reset", async (c) => {
      const machine = await vending.resetMachine((await found(c)).id);
      return c.json({
        message: "Machine has been reset to idle state.",
        machine: machineJson(machine),
      });
    });
}

/** Mounted at `/api/products`. */
export function vendingProductRoutes({ vending, config }: AppDeps) {
  const limit = config.maxBodyBytes;
  const found = async (c: Context) => {
    const { id, raw } = idParam(c);
    const p = await vending.getProduct(id);
    if (!p) throw modelNotFound("Product", raw);
    return p;
  };
  const app = new Hono();
  app.onError(laravelErrors);
  return app
    .get(
      "/",
      async (c) => c.json((await vending.listProducts()).map(productJson)),
    )
    .post("/", async (c) => {
      const input = requireFields(await laravelBody(c, limit), PRODUCT_RULES);
      return c.json(productJson(await vending.createProduct(input)), 201);
    })
    .get("/:id", async (c) => c.json(productJson(await found(c))))
    .patch("/:id/stock", async (c) => {
      const p = await found(c);
      const { stock } = requireFields(await laravelBody(c, limit), STOCK_RULES);
      return c.json(productJson(await vending.setProductStock(p.id, stock)));
    })
    .delete("/:id", async (c) => {
      await vending.deleteProduct((await found(c)).id);
      return c.body(null, 204);
    });
}

const machine = { description: "The machine", schema: VendingMachineOut };
const product = { description: "The product", schema: VendingProductOut };
const notFound = { description: "No such id", schema: LaravelNotFoundOut };
const invalid = {
  description: "Field errors, Laravel style",
  schema: LaravelFieldErrorsOut,
};
const M = "Vending machines";
const P = "Vending products";

/** OpenAPI entries of `/api/vending-machines` and `/api/products`. */
export const vendingDocs: OpDoc[] = [
  {
    method: "get",
    path: "/api/vending-machines",
    tag: M,
    summary: "List vending machines",
    description: "Processing leases and claims that have run out show as idle.",
    responses: {
      200: { description: "Machines", schema: VendingMachineOut.array() },
    },
  },
  {
    method: "post",
    path: "/api/vending-machines",
    tag: M,
    summary: "Add a vending machine (idle, unused)",
    body: MachineBody,
    responses: { 201: machine, 422: invalid },
  },
  {
    method: "get",
    path: "/api/vending-machines/{id}",
    tag: M,
    summary: "Get a vending machine",
    responses: { 200: machine, 404: notFound },
  },
  {
    method: "put",
    path: "/api/vending-machines/{id}",
    tag: M,
    summary: "Rename a vending machine (PATCH does the same)",
    body: MachineBody,
    responses: { 200: machine, 404: notFound, 422: invalid },
  },
  {
    method: "delete",
    path: "/api/vending-machines/{id}",
    tag: M,
    summary: "Delete a vending machine",
    responses: { 204: "Deleted", 404: notFound },
  },
  {
    method: "post",
    path: "/api/vending-machines/{id}/reset",
    tag: M,
    summary: "Force a machine back to idle",
    description:
      "Ends a claim or a processing lease at once (a vend in progress counts as a use). An old lease can never undo it.",
    responses: {
      200: { description: "Reset", schema: MachineMessageOut },
      404: notFound,
      409: {
        description: '{"error":"Machine is already idle."}',
        schema: LaravelErrorOut,
      },
    },
  },
  {
    method: "get",
    path: "/api/products",
    tag: P,
    summary: "List vending products",
    responses: {
      200: { description: "Products", schema: VendingProductOut.array() },
    },
  },
  {
    method: "post",
    path: "/api/products",
    tag: P,
    summary: "Add a vending product",
    body: ProductBody,
    responses: {
      201: product,
      400: { description: "The name is taken", schema: LaravelErrorOut },
      422: invalid,
    },
  },
  {
    method: "get",
    path: "/api/products/{id}",
    tag: P,
    summary: "Get a vending product",
    responses: { 200: product, 404: notFound },
  },
  {
    method: "patch",
    path: "/api/products/{id}/stock",
    tag: P,
    summary: "Set a product's stock",
    body: StockBody,
    responses: { 200: product, 404: notFound, 422: invalid },
  },
  {
    method: "delete",
    path: "/api/products/{id}",
    tag: P,
    summary: "Delete a vending product",
    responses: { 204: "Deleted", 404: notFound },
  },
];
