// The cashier screen: menu by category, a cart, and an outbox that delivers
// every order exactly once. Each cart gets its own Idempotency-Key when it is
// started; on "Send" the order moves to a localStorage outbox with that key
// and is retried with the same key until the server acknowledges it, so a
// double tap, a retry or a lost answer never makes a second order.
import {
  api,
  el,
  errorMessage,
  liveFeed,
  showConnection,
  uuid,
} from "./live.js";

const CART_KEY = "forkflow.cart";
const OUTBOX_KEY = "forkflow.outbox";
const SEND_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 5000;

const $ = (id) => document.getElementById(id);
const money = (n) => Number(n).toFixed(2);

/** Menu items by id. */
const menu = new Map();
/** Acknowledged orders, newest first (this page's session). */
const sent = [];
let cart = loadCart();
let flushing = false;
let retryTimer = null;
let backoff = 1000;

function readJson(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null") ?? fallback;
  } catch {
    return fallback;
  }
}

function newCart() {
  return { key: uuid(), lines: [], table: "", customer: "", notes: "" };
}

function loadCart() {
  const c = readJson(CART_KEY, null);
  return c && typeof c.key === "string" && Array.isArray(c.lines)
    ? c
    : newCart();
}

function saveCart() {
  localStorage.setItem(CART_KEY, JSON.stringify(cart));
}

function outbox() {
  const list = readJson(OUTBOX_KEY, []);
  return Array.isArray(list) ? list : [];
}

function saveOutbox(list) {
  localStorage.setItem(OUTBOX_KEY, JSON.stringify(list));
}

function updateEntry(key, change) {
  saveOutbox(outbox().map((e) => e.key === key ? { ...e, ...change } : e));
}

function removeEntry(key) {
  saveOutbox(outbox().filter((e) => e.key !== key));
}

function showResult(text, kind) {
  const node = $("result");
  node.textContent = text;
  node.dataset.kind = kind;
}

// --- menu -------------------------------------------------------------------
function orderable(item) {
  return item.available && item.stock !== 0;
}

function renderMenu() {
  const byCategory = new Map();
  const items = [...menu.values()].sort((a, b) =>
    a.category.localeCompare(b.category) || a.name.localeCompare(b.name)
  );
  for (const item of items) {
    if (!byCategory.has(item.category)) byCategory.set(item.category, []);
    byCategory.get(item.category).push(item);
  }
  const sections = [];
  for (const [category, list] of byCategory) {
    const section = el("section", "category");
    section.append(el("h2", "", category));
    const grid = el("div", "items");
    for (const item of list) {
      const button = el("button", "item");
      button.type = "button";
      button.dataset.id = String(item.id);
      button.disabled = !orderable(item);
      button.classList.toggle("soldout", !orderable(item));
      button.append(el("span", "name", item.name));
      button.append(el("span", "price", money(item.price)));
      if (!orderable(item)) {
        button.append(
          el("span", "stock", item.stock === 0 ? "Sold out" : "Unavailable"),
        );
      } else if (item.stock !== null) {
        button.append(el("span", "stock", `${item.stock} left`));
      }
      grid.append(button);
    }
    section.append(grid);
    sections.push(section);
  }
  $("menu").replaceChildren(
    ...(sections.length ? sections : [el("p", "empty", "The menu is empty")]),
  );
}

// --- cart -------------------------------------------------------------------
function addToCart(id) {
  const item = menu.get(id);
  if (!item || !orderable(item)) return;
  const line = cart.lines.find((l) => l.id === id);
  if (line) line.quantity = Math.min(line.quantity + 1, 100);
  else cart.lines.push({ id, quantity: 1 });
  saveCart();
  renderCart();
}

function changeQuantity(id, delta) {
  const line = cart.lines.find((l) => l.id === id);
  if (!line) return;
  line.quantity = Math.min(line.quantity + delta, 100);
  if (line.quantity <= 0) cart.lines = cart.lines.filter((l) => l !== line);
  saveCart();
  renderCart();
}

function renderCart() {
  let total = 0;
  $("lines").replaceChildren(...cart.lines.map((line) => {
    const item = menu.get(line.id);
    if (item) total += item.price * line.quantity;
    const li = el("li", item && orderable(item) ? "" : "unavailable");
    const minus = el("button", "minus", "−");
    minus.type = "button";
    minus.dataset.id = String(line.id);
    minus.dataset.delta = "-1";
    minus.setAttribute("aria-label", "One less");
    const plus = el("button", "plus", "+");
    plus.type = "button";
    plus.dataset.id = String(line.id);
    plus.dataset.delta = "1";
    plus.setAttribute("aria-label", "One more");
    li.append(
      el("span", "name", item?.name ?? `Item ${line.id}`),
      minus,
      el("span", "qty", line.quantity),
      plus,
    );
    return li;
  }));
  $("empty-cart").hidden = cart.lines.length > 0;
  $("total").textContent = money(total);
  $("submit").disabled = cart.lines.length === 0;
  for (const field of ["table", "customer", "notes"]) {
    if ($(field).value !== cart[field]) $(field).value = cart[field];
  }
}

function orderBody(c) {
  const body = {
    items: c.lines.map((l) => ({ menu_item_id: l.id, quantity: l.quantity })),
  };
  if (c.table.trim()) body.table = c.table.trim();
  if (c.customer.trim()) body.customer_name = c.customer.trim();
  if (c.notes.trim()) body.notes = c.notes.trim();
  return body;
}

function describe(c) {
  const count = c.lines.reduce((n, l) => n + l.quantity, 0);
  const table = c.table.trim();
  const who = /^\d+$/.test(table)
    ? `Table ${table}`
    : table || c.customer.trim() || "Counter";
  return `${who}, ${count} item${count === 1 ? "" : "s"}`;
}

/** Seals the cart into the outbox (with its key) and starts a fresh cart. */
function submit() {
  if (cart.lines.length === 0) return;
  const entry = {
    key: cart.key,
    body: orderBody(cart),
    summary: describe(cart),
    cart,
    queuedAt: Date.now(),
    attempts: 0,
    lastError: null,
  };
  // Written before anything is sent: a reload or a crash keeps the key.
  saveOutbox([...outbox().filter((e) => e.key !== entry.key), entry]);
  cart = newCart();
  saveCart();
  renderCart();
  showResult(`Sending: ${entry.summary}…`, "wait");
  flush();
}

// --- outbox -----------------------------------------------------------------
function renderOutbox() {
  const list = outbox();
  $("outbox").hidden = list.length === 0;
  $("outbox-list").replaceChildren(...list.map((e) => {
    const li = el(
      "li",
      "",
      `${e.summary}: ${
        e.lastError ? `waiting (${e.lastError})` : "sending"
      }, attempt ${e.attempts}`,
    );
    li.dataset.key = e.key;
    return li;
  }));
  const waiting = $("waiting");
  waiting.hidden = list.length === 0;
  waiting.textContent = `${list.length} order${
    list.length === 1 ? "" : "s"
  } waiting to send`;
  $("recent").hidden = sent.length === 0;
  $("sent").replaceChildren(
    ...sent.slice(0, 10).map((s) =>
      el("li", "", `#${s.id} · ${s.summary} · ${s.at}`)
    ),
  );
}

function scheduleRetry() {
  if (retryTimer !== null) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    flush();
  }, backoff);
  backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
}

/** Sends one outbox entry; resolves "done" (acknowledged or rejected) or "retry". */
async function send(entry) {
  updateEntry(entry.key, { attempts: entry.attempts + 1 });
  renderOutbox();
  let r;
  try {
    r = await api("/orders", {
      method: "POST",
      body: entry.body,
      headers: { "Idempotency-Key": entry.key },
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch {
    updateEntry(entry.key, { lastError: "server unreachable" });
    return "retry";
  }
  if (r.ok) {
    removeEntry(entry.key);
    sent.unshift({
      id: r.body.id,
      summary: entry.summary,
      at: new Date().toLocaleTimeString(),
    });
    showResult(`Order #${r.body.id} sent`, "ok");
    return "done";
  }
  const code = r.body?.error?.code;
  const transient = r.status >= 500 || r.status === 429 ||
    r.status === 401 || r.status === 403 ||
    code === "idempotency_key_in_flight";
  if (transient) {
    updateEntry(entry.key, {
      lastError: errorMessage(r.body, `HTTP ${r.status}`),
    });
    return "retry";
  }
  // A definite no (sold out, invalid): hand the order back to the cashier.
  removeEntry(entry.key);
  showResult(
    `Not sent: ${errorMessage(r.body, `HTTP ${r.status}`)}`,
    "bad",
  );
  if (cart.lines.length === 0 && entry.cart) {
    cart = { ...entry.cart, key: uuid() };
    saveCart();
    renderCart();
  }
  return "done";
}

/** Delivers the outbox in order, one request at a time, until it is empty or the server is away. */
async function flush() {
  if (flushing) return;
  flushing = true;
  clearTimeout(retryTimer);
  retryTimer = null;
  try {
    for (;;) {
      const entry = outbox()[0];
      if (!entry) {
        backoff = 1000;
        break;
      }
      if (await send(entry) === "retry") {
        const waiting = outbox().length;
        showResult(
          `Server unreachable: ${waiting} order${
            waiting === 1 ? "" : "s"
          } waiting, retrying`,
          "wait",
        );
        scheduleRetry();
        break;
      }
      backoff = 1000;
    }
  } finally {
    flushing = false;
    renderOutbox();
  }
}

// --- start ------------------------------------------------------------------
async function loadMenu() {
  const r = await api("/menu");
  if (!r.ok) throw new Error(errorMessage(r.body, `HTTP ${r.status}`));
  for (const item of r.body) {
    // A menu.updated that arrived while this list was on its way is newer.
    const known = menu.get(item.id);
    if (!known || item.updated_at >= known.updated_at) menu.set(item.id, item);
  }
  renderMenu();
  renderCart();
}

let refreshTimer = null;

function refreshSoon() {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    loadMenu().catch(() => {});
  }, 250);
}

function start() {
  $("menu").addEventListener("click", (e) => {
    const button = e.target.closest(".item");
    if (button && !button.disabled) addToCart(Number(button.dataset.id));
  });
  $("lines").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-delta]");
    if (button) {
      changeQuantity(Number(button.dataset.id), Number(button.dataset.delta));
    }
  });
  for (const field of ["table", "customer", "notes"]) {
    $(field).addEventListener("input", () => {
      cart[field] = $(field).value;
      saveCart();
    });
  }
  $("clear").addEventListener("click", () => {
    cart = newCart();
    saveCart();
    renderCart();
  });
  $("submit").addEventListener("click", submit);
  addEventListener("online", () => flush());
  addEventListener("storage", (e) => {
    if (e.key === OUTBOX_KEY) renderOutbox();
  });
  renderCart();
  renderOutbox();
  liveFeed({
    types: ["menu.updated", "order.created"],
    onEvent: (type, data) => {
      if (type === "order.created") {
        // Stock counts only emit an event at zero: refresh "N left" after a sale.
        const tracked = data.items.some((l) =>
          menu.get(l.menu_item_id)?.stock !== null &&
          menu.has(l.menu_item_id)
        );
        if (tracked) refreshSoon();
        return;
      }
      const known = menu.get(data.id);
      if (!known || data.updated_at >= known.updated_at) {
        menu.set(data.id, data);
      }
      renderMenu();
      renderCart();
    },
    onReady: (_id, first) => {
      if (first) {
        loadMenu().catch((e) =>
          showResult(`Could not load the menu: ${e.message}`, "bad")
        );
      }
      // The server is back (or was there all along): deliver what waits.
      flush();
    },
    onStatus: (s) => showConnection($("conn"), s),
  });
  flush();
}

start();
