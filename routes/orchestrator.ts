/** `/api/orchestrator`: hand out an idle machine, then sell through it. */
import { Hono } from "hono";
import type { Context } from "hono";
import { type ChooseInput, machineJson } from "../domain/vending.ts";
import {
  CHOOSE_RULES,
  FieldErrors,
  invalidSelection,
  requireFields,
  validateFields,
  WAIT_RULES,
} from "../domain/vending_rules.ts";
import {
  ChooseBody,
  LaravelErrorOut,
  LaravelFieldErrorsOut,
  MachineMessageOut,
  PurchaseOut,
  StartWorkQuery,
} from "../domain/vending_schemas.ts";
import type { VendingStore } from "../db/vending_store.ts";
import type { AppDeps } from "./_deps.ts";
import { idemKeyOf, markReplay } from "./_idempotency.ts";
import { IDEMPOTENCY_HEADER, type OpDoc } from "./_openapi.ts";
import { laravelBody, laravelErrors } from "./vending.ts";

const CHOOSE_SCOPE = "POST /api/orchestrator/choose-product";

/**
 * Field checks of a purchase. Like Laravel's FormRequest, one answer lists
 * every bad field, ids that do not exist included (`exists:` rules).
 */
async function choiceOf(
  vending: VendingStore,
  body: unknown,
): Promise<ChooseInput> {
  const { data, errors } = validateFields(body, CHOOSE_RULES);
  if (Object.keys(errors).length === 0) {
    const d = data as Required<typeof data>;
    return {
      machineId: d.machine_id,
      productId: d.product_id,
      count: d.count,
      coins: d.coins,
    };
  }
  if (
    data.machine_id !== undefined && !await vending.getMachine(data.machine_id)
  ) {
    errors.machine_id = [invalidSelection("machine_id")];
  }
  if (
    data.product_id !== undefined && !await vending.getProduct(data.product_id)
  ) {
    errors.product_id = [invalidSelection("product_id")];
  }
  const ordered: Record<string, string[]> = {};
  for (const field of Object.keys(CHOOSE_RULES)) {
    if (errors[field]) ordered[field] = errors[field];
  }
  throw new FieldErrors(ordered);
}

function abortOf(c: Context, shutdown?: AbortSignal): AbortSignal {
  const client = c.req.raw.signal;
  return shutdown ? AbortSignal.any([client, shutdown]) : client;
}

/** Mounted at `/api/orchestrator`. */
export function orchestratorRoutes(
  { vending, config, inflight, shutdown }: AppDeps,
) {
  const app = new Hono();
  app.onError(laravelErrors);
  return app
    .post("/start-work", async (c) => {
      const waitMs = requireFields(c.req.query(), WAIT_RULES).wait_ms ?? 0;
      // Only a waiting call watches for the client leaving.
      const machine = await vending.startWork(
        waitMs > 0 ? { waitMs, signal: abortOf(c, shutdown) } : {},
      );
      return c.json({
        message: "Machine selected and moved to choose_product state.",
        machine: machineJson(machine),
      });
    })
    .post("/choose-product", async (c) => {
      const body = await laravelBody(c, config.maxBodyBytes);
      const idem = await idemKeyOf(c, CHOOSE_SCOPE, body);
      const input = await choiceOf(vending, body);
      const out = await inflight.run(
        idem,
        () => vending.chooseProduct(input, { idempotency: idem }),
      );
      markReplay(c, out.replayed);
      // deno-lint-ignore no-explicit-any
      return c.json(out.body as any, out.status as 200);
    });
}

const rule = (description: string) => ({
  description,
  schema: LaravelErrorOut,
});

/** OpenAPI entries of `/api/orchestrator`. */
export const orchestratorDocs: OpDoc[] = [
  {
    method: "post",
    path: "/api/orchestrator/start-work",
    tag: "Vending orchestrator",
    summary: "Claim the least-used idle machine",
    description:
      "Picks the idle machine with the lowest usage_count (ties by id) and moves it to choose_product, atomically: no machine is handed to two callers. An unanswered claim returns to idle after VENDING_CLAIM_TTL_MS. With ?wait_ms=N (at most 30000) the call waits, first come first served, for a machine to free up.",
    query: StartWorkQuery,
    responses: {
      200: { description: "Claimed", schema: MachineMessageOut },
      409: rule('{"error":"No idle vending machine available."}'),
      422: { description: "Bad wait_ms", schema: LaravelFieldErrorsOut },
    },
  },
  {
    method: "post",
    path: "/api/orchestrator/choose-product",
    tag: "Vending orchestrator",
    summary: "Buy through a claimed machine",
    description:
      "1 coin per item (coins must equal count). Takes the stock atomically (never oversells) and puts the machine in processing for VENDING_PROCESSING_MS, after which it is idle with usage_count + 1.",
    body: ChooseBody,
    headers: [IDEMPOTENCY_HEADER],
    responses: {
      200: { description: "Sold", schema: PurchaseOut },
      400: rule("Malformed JSON or Idempotency-Key"),
      409: rule("The same Idempotency-Key is still in flight"),
      422: {
        description:
          'Field errors {message, errors}, or a rule error {error}: coins not equal to count, "Machine is not in choose_product state.", "Insufficient stock. Available: N", or a reused Idempotency-Key',
        schema: LaravelFieldErrorsOut,
      },
    },
  },
];
