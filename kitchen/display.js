// The kitchen screen: live tickets from /kitchen/events, oldest first.
// Query: ?station=<menu category>, ?warn=<minutes> (default 5), ?late=<minutes> (default 8).
import { api, el, errorMessage, liveFeed, showConnection } from "./live.js";

const params = new URLSearchParams(location.search);
const minutes = (name, fallback) => {
  const v = Number(params.get(name));
  return params.has(name) && Number.isFinite(v) && v >= 0 ? v : fallback;
};
const WARN_MS = minutes("warn", 5) * 60_000;
const LATE_MS = Math.max(minutes("late", 8) * 60_000, WARN_MS);
const STATION = (params.get("station") ?? "").trim().toLowerCase();
/** Cancelled tickets stay (struck through) this long, or until tapped. */
const CANCELLED_MS = 10 * 60_000;
const NEW_MS = 10_000;

const NEXT = {
  pending: "in_progress",
  in_progress: "ready",
  ready: "completed",
};
const STATUS_LABEL = {
  pending: "New",
  in_progress: "Cooking",
  ready: "Ready",
  cancelled: "Cancelled",
};
const ACTION_LABEL = {
  pending: "Tap: start",
  in_progress: "Tap: ready",
  ready: "Tap: served",
  cancelled: "Tap: dismiss",
};
const SHOWN = new Set(["pending", "in_progress", "ready", "cancelled"]);
const COOKING = new Set(["pending", "in_progress"]);

const $ = (id) => document.getElementById(id);
const ticketsNode = $("tickets");

/** Orders on screen by id. */
const orders = new Map();
/** Highest version seen per order id, also for orders gone from the screen. */
const versions = new Map();
/** menu_item_id -> lower-cased category, for ?station=. */
const categories = new Map();
/** id -> {node, key} of rendered cards. */
const cards = new Map();
/** Orders with a PATCH in flight. */
const busy = new Set();
/** id -> time it arrived, for the new-ticket highlight. */
const fresh = new Map();
/** Ids bumped to ready here, most recent last (for Recall). */
const recallStack = [];
let synced = false;
let skewMs = 0;
let noticeTimer = null;

function notice(text) {
  const node = $("notice");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => node.hidden = true, 6000);
}

/** Takes an order (from the feed, a snapshot or a PATCH answer) unless we know a newer version. */
function apply(order) {
  const known = versions.get(order.id);
  if (known !== undefined && known >= order.version) return false;
  versions.set(order.id, order.version);
  if (SHOWN.has(order.status)) orders.set(order.id, order);
  else orders.delete(order.id);
  return true;
}

function linesFor(order) {
  if (!STATION) return order.items;
  return order.items.filter((l) =>
    l.menu_item_id === null || categories.get(l.menu_item_id) === STATION
  );
}

function ageOf(order) {
  return Date.now() + skewMs - Date.parse(order.created_at);
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function ageClass(ms) {
  return ms >= LATE_MS ? "age-late" : ms >= WARN_MS ? "age-warn" : "age-fresh";
}

function buildCard(order, lines) {
  const card = el("article", "ticket");
  card.dataset.id = String(order.id);
  card.tabIndex = 0;
  card.setAttribute("role", "button");
  const head = el("div", "head");
  head.append(el("span", "num", `#${order.id}`));
  const table = /^\d+$/.test(order.table ?? "")
    ? `Table ${order.table}`
    : order.table;
  const who = [table, order.customer_name]
    .filter(Boolean).join(" · ");
  head.append(
    el(
      "span",
      "who",
      who || (order.source === "table" ? "Table order" : "Counter"),
    ),
  );
  head.append(el("span", "age", ""));
  const list = el("ul", "lines");
  for (const line of lines) {
    const li = el("li", line.menu_item_id === null ? "unlinked" : "");
    li.append(el("span", "qty", `${line.quantity}×`));
    li.append(el("span", "name", line.name));
    if (line.notes) li.append(el("div", "line-notes", line.notes));
    list.append(li);
  }
  card.append(head, list);
  if (order.notes) card.append(el("p", "notes", order.notes));
  const foot = el("div", "foot");
  foot.append(el("span", "status", STATUS_LABEL[order.status] ?? order.status));
  foot.append(el("span", "next", ACTION_LABEL[order.status] ?? ""));
  card.append(foot);
  return card;
}

function visibleOrders() {
  const now = Date.now();
  const out = [];
  for (const order of orders.values()) {
    if (
      order.status === "cancelled" &&
      now + skewMs - Date.parse(order.updated_at) > CANCELLED_MS
    ) {
      orders.delete(order.id);
      continue;
    }
    const lines = linesFor(order);
    if (lines.length > 0) out.push({ order, lines });
  }
  return out.sort((a, b) =>
    a.order.created_at.localeCompare(b.order.created_at) ||
    a.order.id - b.order.id
  );
}

function render() {
  const shown = visibleOrders();
  const keep = new Set();
  const nodes = shown.map(({ order, lines }) => {
    keep.add(order.id);
    const key = `${order.version}|${lines.length}`;
    let entry = cards.get(order.id);
    if (!entry || entry.key !== key) {
      entry = { node: buildCard(order, lines), key };
      cards.set(order.id, entry);
    }
    const node = entry.node;
    node.classList.toggle("busy", busy.has(order.id));
    node.classList.toggle("new", fresh.has(order.id));
    for (const s of Object.keys(STATUS_LABEL)) {
      node.classList.toggle(`status-${s}`, order.status === s);
    }
    return node;
  });
  for (const id of [...cards.keys()]) if (!keep.has(id)) cards.delete(id);
  if (nodes.length === 0) {
    ticketsNode.replaceChildren(el("p", "empty", "No open tickets"));
  } else ticketsNode.replaceChildren(...nodes);
  renderAllDay(shown);
  renderRecall();
  tick();
  const waiting = shown.filter(({ order }) => order.status === "pending")
    .length;
  document.title = waiting ? `(${waiting}) Kitchen` : "Kitchen";
}

function renderAllDay(shown) {
  const counts = new Map();
  for (const { order, lines } of shown) {
    if (!COOKING.has(order.status)) continue;
    for (const l of lines) {
      counts.set(l.name, (counts.get(l.name) ?? 0) + l.quantity);
    }
  }
  const rows = [...counts].sort((a, b) =>
    b[1] - a[1] || a[0].localeCompare(b[0])
  );
  $("allday").replaceChildren(...rows.map(([name, n]) => {
    const li = el("li");
    li.append(el("span", "item", name), el("span", "count", n));
    return li;
  }));
}

function recallTarget() {
  while (recallStack.length > 0) {
    const id = recallStack[recallStack.length - 1];
    if (orders.get(id)?.status === "ready") return id;
    recallStack.pop();
  }
  return null;
}

function renderRecall() {
  const id = recallTarget();
  const button = $("recall");
  button.disabled = id === null || busy.has(id);
  button.textContent = id === null ? "Recall" : `Recall #${id}`;
}

/** Updates the age timers and colours once a second without rebuilding cards. */
function tick() {
  const now = Date.now();
  for (const [id, at] of fresh) if (now - at > NEW_MS) fresh.delete(id);
  for (const [id, { node }] of cards) {
    const order = orders.get(id);
    if (!order) continue;
    const age = ageOf(order);
    node.querySelector(".age").textContent = clock(age);
    for (const c of ["age-fresh", "age-warn", "age-late"]) {
      node.classList.toggle(c, c === ageClass(age));
    }
    node.classList.toggle("new", fresh.has(id));
  }
}

async function bump(id, to) {
  const order = orders.get(id);
  if (!order || busy.has(id)) return;
  busy.add(id);
  fresh.delete(id);
  render();
  try {
    const r = await api(`/orders/${id}`, {
      method: "PATCH",
      body: { status: to },
      headers: { "If-Match": `"${order.version}"` },
    });
    if (r.ok) {
      apply(r.body);
      if (to === "ready") recallStack.push(id);
    } else if ([404, 409, 412].includes(r.status)) {
      notice(errorMessage(r.body, `Ticket #${id} changed elsewhere`));
      await refetch(id);
    } else {
      notice(errorMessage(r.body, `Could not update #${id} (${r.status})`));
    }
  } catch {
    notice(`Server unreachable: ticket #${id} not updated, tap again`);
  } finally {
    busy.delete(id);
    render();
  }
}

async function refetch(id) {
  try {
    const r = await api(`/orders/${id}`);
    if (r.ok) apply(r.body);
    else if (r.status === 404) orders.delete(id);
  } catch { /* the feed will catch up */ }
}

function onTap(event) {
  const card = event.target.closest(".ticket");
  if (!card) return;
  const id = Number(card.dataset.id);
  const order = orders.get(id);
  if (!order) return;
  if (order.status === "cancelled") {
    orders.delete(id);
    render();
    return;
  }
  const to = NEXT[order.status];
  if (to) bump(id, to);
}

// --- alerts -----------------------------------------------------------------
let audio = null;
let soundOn = localStorage.getItem("forkflow.kitchenSound") !== "off";
let alertTimer = null;

function unlockAudio() {
  const Ctx = globalThis.AudioContext ?? globalThis.webkitAudioContext;
  if (!audio && Ctx) audio = new Ctx();
  audio?.resume?.().catch(() => {});
}

let lastBeep = 0;

function beep() {
  // A replay after a reconnect can bring many tickets at once: one beep will do.
  if (!soundOn || Date.now() - lastBeep < 1500) return;
  lastBeep = Date.now();
  unlockAudio();
  if (!audio || audio.state !== "running") return;
  const t = audio.currentTime;
  for (const [offset, freq] of [[0, 880], [0.18, 1320]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + offset);
    gain.gain.exponentialRampToValueAtTime(0.4, t + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + offset);
    osc.stop(t + offset + 0.17);
  }
  document.body.dataset.beeps = String(
    Number(document.body.dataset.beeps ?? 0) + 1,
  );
}

function alertNew(order) {
  const node = $("alert");
  node.textContent = `New ticket #${order.id}`;
  node.hidden = false;
  clearTimeout(alertTimer);
  alertTimer = setTimeout(() => node.hidden = true, 4000);
  beep();
}

function renderSound() {
  const button = $("sound");
  button.textContent = soundOn ? "Sound on" : "Sound off";
  button.setAttribute("aria-pressed", String(soundOn));
}

// --- feed -------------------------------------------------------------------
function onEvent(type, data) {
  if (type === "menu.updated") {
    const before = categories.get(data.id);
    categories.set(data.id, String(data.category).toLowerCase());
    if (STATION && before !== categories.get(data.id)) render();
    return;
  }
  if (!apply(data)) return;
  if (type === "order.created" && synced && linesFor(data).length > 0) {
    fresh.set(data.id, Date.now());
    alertNew(data);
  }
  render();
}

async function loadSnapshot() {
  const [menu, active] = await Promise.all([
    STATION ? api("/menu") : Promise.resolve(null),
    api("/kitchen/orders"),
  ]);
  if (menu?.ok) {
    for (const item of menu.body) {
      categories.set(item.id, String(item.category).toLowerCase());
    }
  }
  if (!active.ok) throw new Error(errorMessage(active.body, "No orders"));
  const serverNow = Date.parse(active.headers.get("date") ?? "");
  if (Number.isFinite(serverNow) && Math.abs(serverNow - Date.now()) > 2000) {
    skewMs = serverNow - Date.now();
  }
  for (const order of active.body) apply(order);
}

async function onReady(_lastId, first) {
  if (!first) return;
  try {
    await loadSnapshot();
  } catch (e) {
    notice(`Could not load the open tickets: ${e.message}`);
  }
  synced = true;
  render();
}

function start() {
  if (STATION) $("station").textContent = `· ${params.get("station")}`;
  $("legend").textContent = `Amber after ${WARN_MS / 60_000} min, red after ${
    LATE_MS / 60_000
  } min. Tap a ticket to move it on.`;
  ticketsNode.addEventListener("click", onTap);
  ticketsNode.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onTap(e);
    }
  });
  $("recall").addEventListener("click", () => {
    const id = recallTarget();
    if (id !== null) bump(id, "in_progress");
  });
  $("sound").addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("forkflow.kitchenSound", soundOn ? "on" : "off");
    renderSound();
    if (soundOn) unlockAudio();
  });
  // Browsers only start audio after a gesture; any tap on the screen unlocks it.
  document.addEventListener("pointerdown", unlockAudio);
  renderSound();
  render();
  setInterval(tick, 1000);
  liveFeed({
    types: ["order.created", "order.updated", "menu.updated"],
    onEvent,
    onReady,
    onStatus: (s) => showConnection($("conn"), s),
  });
}

start();
