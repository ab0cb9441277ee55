// Trust Gateway live dashboard: signs in with an API key, trades it for a single-use
// ticket (browsers cannot set headers on a WebSocket), and renders /ws/dashboard.
// Every value from the server goes into the page as text, never as markup.
"use strict";

const KEY_STORE = "trust-gateway.dashboard.key";
const ROWS = 50;
const LOG_ROWS = 200;

const $ = (id) => document.getElementById(id);

const state = {
  key: null,
  socket: null,
  retry: 1000,
  tiers: new Map(),
  bins: new Array(10).fill(0),
  totals: { agents: 0, active: 0, receipts: 0, average: null },
  denials: 0,
};

function setStatus(kind, text) {
  const el = $("status");
  el.dataset.state = kind;
  el.textContent = text;
}

function time(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toLocaleTimeString();
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function prependRow(tbody, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(c);
  tbody.prepend(tr);
  while (tbody.rows.length > ROWS) tbody.deleteRow(tbody.rows.length - 1);
}

function agentLabel(data) {
  return data.agent_name ? `${data.agent_name} (${data.agent_id})` : data.agent_id;
}

function bin(score) {
  const s = Number(score);
  if (!Number.isFinite(s)) return null;
  return Math.min(9, Math.max(0, Math.floor(s * 10)));
}

function renderBars(list, rows) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const items = rows.map((r) => {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = r.label;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${(100 * r.count) / max}%`;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = String(r.count);
    li.dataset.key = r.key;
    li.append(label, bar, count);
    return li;
  });
  list.replaceChildren(...items);
}

function render() {
  $("total-agents").textContent = String(state.totals.agents);
  $("active-agents").textContent = String(state.totals.active);
  $("total-receipts").textContent = String(state.totals.receipts);
  $("average-score").textContent =
    state.totals.average === null ? "–" : Number(state.totals.average).toFixed(3);
  $("denials-seen").textContent = String(state.denials);
  const tiers = [...state.tiers.entries()].sort((a, b) => a[0] - b[0]);
  renderBars($("tiers"), tiers.map(([t, n]) => ({ key: `tier-${t}`, label: `Tier ${t}`, count: n })));
  renderBars(
    $("scores"),
    state.bins.map((n, i) => ({ key: `bin-${i}`, label: `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`, count: n })),
  );
}

function addTier(tier, delta) {
  if (tier === undefined || tier === null) return;
  state.tiers.set(tier, Math.max(0, (state.tiers.get(tier) || 0) + delta));
}

function addBin(score, delta) {
  const b = bin(score);
  if (b !== null) state.bins[b] = Math.max(0, state.bins[b] + delta);
}

function showReceipt(m) {
  const d = m.data || {};
  prependRow($("receipts"), [
    cell(time(m.timestamp)),
    cell(agentLabel(d)),
    cell(d.action),
    cell(d.result, d.result),
    cell(typeof d.new_score === "number" ? d.new_score.toFixed(3) : d.new_score),
    cell(d.new_tier),
  ]);
}

function showDenial(m) {
  const d = m.data || {};
  prependRow($("denials"), [cell(time(m.timestamp)), cell(agentLabel(d)), cell(d.action), cell(d.reason)]);
}

function log(m) {
  const li = document.createElement("li");
  const type = document.createElement("span");
  type.className = "type";
  type.textContent = m.type;
  const text = document.createElement("span");
  text.textContent = `${time(m.timestamp)} ${JSON.stringify(m.data)}`;
  li.append(type, text);
  const list = $("events");
  list.prepend(li);
  while (list.children.length > LOG_ROWS) list.lastElementChild.remove();
}

function initial(data) {
  state.totals = {
    agents: data.total_agents,
    active: data.active_agents,
    receipts: data.total_receipts,
    average: data.average_score,
  };
  // V2's shape: tier number (as a string key) -> agents.
  state.tiers = new Map(Object.entries(data.agents_by_tier || {}).map(([t, n]) => [Number(t), n]));
  state.bins = new Array(10).fill(0);
  (data.score_distribution || []).forEach((b, i) => {
    if (i < 10) state.bins[i] = b.agents;
  });
  $("receipts").replaceChildren();
  $("denials").replaceChildren();
  // Most recent first: show oldest first so the newest ends on top.
  for (const m of [...(data.recent_events || [])].reverse()) {
    if (m.type === "receipt_recorded") showReceipt(m);
    if (m.type === "auth_denied") showDenial(m);
  }
}

function handle(m) {
  const d = m.data || {};
  switch (m.type) {
    case "initial_stats":
      initial(d);
      setStatus("live", "live");
      break;
    case "agent_registered":
      state.totals.agents += 1;
      state.totals.active += 1;
      addTier(d.tier, +1);
      addBin(d.score, +1);
      break;
    case "receipt_recorded":
      state.totals.receipts += 1;
      showReceipt(m);
      break;
    case "auth_denied":
      state.denials += 1;
      showDenial(m);
      break;
    case "tier_changed":
      addTier(d.old_tier, -1);
      addTier(d.new_tier, +1);
      break;
    case "trust_changed":
      addBin(d.old_score, -1);
      addBin(d.new_score, +1);
      break;
    default:
      return;
  }
  if (m.type !== "initial_stats") log(m);
  render();
}

async function ticket(key) {
  const res = await fetch("/ws/ticket", { method: "POST", headers: { "X-API-Key": key } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.detail || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body.ticket;
}

async function connect() {
  setStatus("connecting", "connecting…");
  let t;
  try {
    t = await ticket(state.key);
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      signOut(`Not accepted: ${e.message}`);
      return;
    }
    return retryLater(`cannot get a ticket: ${e.message}`);
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/dashboard?ticket=${encodeURIComponent(t)}`);
  state.socket = ws;
  ws.addEventListener("message", (ev) => {
    if (ev.data === "pong") return;
    try {
      handle(JSON.parse(ev.data));
    } catch (e) {
      console.error("unreadable message", e);
    }
  });
  ws.addEventListener("open", () => {
    state.retry = 1000;
  });
  ws.addEventListener("close", (ev) => {
    if (state.socket !== ws) return;
    retryLater(ev.reason || `closed (${ev.code})`);
  });
}

function retryLater(why) {
  setStatus("disconnected", `disconnected: ${why}; retrying`);
  const wait = state.retry;
  state.retry = Math.min(30000, state.retry * 2);
  setTimeout(() => {
    if (state.key) connect();
  }, wait);
}

function signOut(message) {
  state.key = null;
  if (state.socket) {
    const ws = state.socket;
    state.socket = null;
    ws.close();
  }
  sessionStorage.removeItem(KEY_STORE);
  $("board").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  setStatus("signed-out", "signed out");
}

function signIn(key) {
  state.key = key;
  sessionStorage.setItem(KEY_STORE, key);
  $("sign-in").hidden = true;
  $("board").hidden = false;
  $("sign-in-error").textContent = "";
  render();
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("api-key").value.trim();
    $("api-key").value = "";
    if (key) signIn(key);
  });
  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) signIn(saved);
});
