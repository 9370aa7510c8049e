// statemgr's Service Manager page. It talks only to statemgrd's bridge
// (/api/...), which forwards to the NATS API with the user's connection:
// what a user may do is what NATS lets them do.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { csrf: "", role: "", lastSeq: 0, shownHead: 0, source: null, components: new Map(), operations: new Map(), alerts: new Map(), refreshTimer: 0, blockers: new Map(), blockersTimer: 0 };

// Power requests by component kind: the allowed request name → subject and body.
const powerRequest = {
  host: (id, name) => ({ subject: "statemgr.host.reset", body: { id, type: name } }),
  chassis: (id, name) => ({ subject: { On: "statemgr.chassis.power.on", Off: "statemgr.chassis.power.off", PowerCycle: "statemgr.chassis.power.cycle" }[name], body: { id } }),
  bmc: (id, name) => name === "EnterMaintenance" || name === "ExitMaintenance"
    ? { subject: "statemgr.bmc.maintenance", body: { id, enable: name === "EnterMaintenance" } }
    : { subject: "statemgr.bmc.reset", body: { id, type: name } },
};
const serviceSubjects = { Start: "statemgr.service.start", Stop: "statemgr.service.stop", Restart: "statemgr.service.restart", Reset: "statemgr.service.reset" };
const transitional = /^(Transitioning|Starting|Stopping|Restarting|Rebooting|PowerCycling|UpdateInProgress)/;

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ("HTTP " + status));
    this.status = status; this.code = e.code; this.name_ = e.name; this.hint = e.hint || ""; this.refusal = e.refusal; this.allowed = e.allowed;
  }
}

async function post(path, body) {
  const res = await fetch(path, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-Statemgr-CSRF": state.csrf }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

const api = (subject, body) => post("/api/request", { subject, body: body || {} });

function setConn(s, text) { const c = $("conn"); c.dataset.state = s; c.textContent = text; }

function showError(err) {
  $("alert-text").textContent = err.message;
  let hint = err.hint;
  if (err.refusal && err.refusal.interlock) hint = "Interlock " + err.refusal.interlock + " clears when " + err.refusal.clears + ". " + hint;
  $("alert-hint").textContent = hint;
  $("alert-box").hidden = false;
  $("alert-close").focus();
}

async function start() {
  try {
    setSession(await (await checked(fetch("/api/session", { credentials: "same-origin" }))).json());
  } catch (e) {
    try {
      setSession(await post("/api/login", {}));
    } catch (e2) {
      if (e2.status === 401) return showLogin();
      setConn("reconnecting", "reconnecting… (" + e2.message + ")");
      return setTimeout(start, 1000);
    }
  }
  await refresh();
  follow();
  watchBlockers();
}

async function checked(p) { const r = await p; if (!r.ok) throw new APIError(r.status, await r.json().catch(() => ({}))); return r; }

function setSession(s) {
  state.csrf = s.csrf; state.role = s.role; state.shownHead = 0; // a new session may be another daemon's log
  $("user").textContent = s.user; $("role").textContent = s.role;
  $("who").hidden = false; $("login").hidden = true; $("app").hidden = false;
  document.body.dataset.role = s.role;
}

function showLogin() {
  $("app").hidden = true; $("who").hidden = true; $("login").hidden = false;
  setConn("login", "log in to see statemgr");
  $("login-password").value = "";
  $("login-user").select();
  $("login-user").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    setSession(await post("/api/login", { user: $("login-user").value, password: $("login-password").value }));
    $("login-password").value = "";
    await refresh();
    follow();
    watchBlockers();
  } catch (e) { $("login").hidden = false; showError(e); $("app").hidden = false; }
});
$("logout").addEventListener("click", async () => {
  clearTimeout(state.blockersTimer);
  try { await post("/api/logout", {}); } catch (e) { /* the session is gone either way */ }
  if (state.source) state.source.close();
  showLogin();
});
$("alert-close").addEventListener("click", () => { $("alert-box").hidden = true; });
$("history-close").addEventListener("click", () => { $("history").hidden = true; });

// allPages reads a paged reply whole (a large platform's replies are cut
// under the NATS max payload: docs/API.md, Paging): the first page, with
// the items under key of every page.
async function allPages(subject, key) {
  const first = await api(subject);
  for (let page = first; page.more; ) {
    page = await api(subject, { from: page.next });
    first[key].push(...page[key]);
  }
  return first;
}

// refresh reads the system's status and the standing alerts (those raised
// before the events the page streams too). Refreshes may overlap and
// finish out of order: a read at an older log head than the one shown is
// dropped, so a slow reply never puts back a state, and its allowed
// requests, that a newer read replaced.
async function refresh() {
  const status = await allPages("statemgr.system.status", "components");
  const standing = await allPages("statemgr.alerts.list", "alerts");
  if (status.log_head < state.shownHead) return;
  state.shownHead = status.log_head;
  if (!state.lastSeq) state.lastSeq = Math.max(0, status.log_head - 500);
  state.components = new Map(status.components.map((c) => [c.id, c]));
  state.alerts = new Map(standing.alerts.map((a) => [a.operation, { operation: a.operation, id: a.id, alert: a.alert, message: a.cause }]));
  render();
}

// blockersEvery is how often the page re-reads what blocks each request
// (statemgr.interlocks.list; the daemon reads the hardware for it at
// most every 2 s however many pages ask).
const blockersEvery = 5000;

// watchBlockers reads the interlocks now and every blockersEvery.
function watchBlockers() {
  clearTimeout(state.blockersTimer);
  readBlockers().catch(() => {}).finally(() => { state.blockersTimer = setTimeout(watchBlockers, blockersEvery); });
}

// readBlockers groups, per component, the requests each blocker refuses:
// one line per blocker (check and reason), naming the requests it blocks.
async function readBlockers() {
  const list = await allPages("statemgr.interlocks.list", "requests");
  const byComponent = new Map();
  for (const r of list.requests) {
    const lines = byComponent.get(r.id) || new Map();
    byComponent.set(r.id, lines);
    for (const b of r.blockers) {
      const key = b.check + "\u0000" + b.reason;
      if (!lines.has(key)) lines.set(key, { ...b, requests: [] });
      lines.get(key).requests.push(r.request);
    }
  }
  state.blockers = new Map([...byComponent].map(([id, lines]) => [id, [...lines.values()]]));
  renderPower();
}

function blockerLines(id) {
  return (state.blockers.get(id) || []).map((b) => el("p", { class: "blocker", "data-check": b.check, "data-requests": b.requests.join(" ") },
    el("strong", {}, b.requests.join(", ")), " blocked by ", el("code", {}, b.check), ": " + b.reason + ". Clears when " + b.clears + "." +
    (b.overridable ? " An operator may override it." : "")));
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => refresh().catch(() => {}), 50);
}

// follow streams the log from the seq after the last one seen: the
// bridge pages the log and then follows live events, so nothing is
// missed or shown twice, across reconnects too.
function follow() {
  if (state.source) state.source.close();
  const es = new EventSource("/api/events?from=" + (state.lastSeq + 1));
  state.source = es;
  es.onopen = () => setConn("live", "live");
  es.addEventListener("record", (m) => {
    const e = JSON.parse(m.data);
    if (e.seq <= state.lastSeq) return;
    state.lastSeq = e.seq;
    noteEvent(e);
    // Show each state at once (a transitional one may last less than a
    // refresh); the refresh then brings what is allowed in it.
    const c = state.components.get(e.id);
    if (c && e.state) { c.state = e.state; render(); }
    scheduleRefresh();
  });
  es.onerror = () => {
    setConn("reconnecting", "reconnecting…");
    if (es.readyState === EventSource.CLOSED) {
      // The daemon restarted (the session ended with it) or refused us.
      setTimeout(() => { if (state.source === es) start(); }, 1000);
    }
  };
}

function noteEvent(e) {
  if (e.operation && state.operations.has(e.operation) && e.type === "op_finished") {
    const op = state.operations.get(e.operation);
    op.outcome = e.outcome; op.message = e.message || "";
  }
  if (e.alert && e.operation) state.alerts.set(e.operation, e);
  if (e.type === "alert_acknowledged" && e.operation) state.alerts.delete(e.operation);
  if (e.type === "transition" && e.operation && state.operations.has(e.operation)) state.operations.get(e.operation).state = e.to;
}

const el = (tag, attrs, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else if (v !== false && v != null) n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) n.append(k);
  return n;
};

const canAct = () => state.role === "operator";

async function act(subject, body, label) {
  try {
    const r = await api(subject, body);
    if (r.operation) state.operations.set(r.operation, { id: r.operation, label, kind: r.kind || r.request, target: r.id, state: r.state, outcome: r.outcome ? r.outcome.result : (r.noop ? "succeeded (no-op)" : "in progress") });
    renderOperations();
    scheduleRefresh();
  } catch (e) { showError(e); }
}

function render() {
  renderPower(); renderServices(); renderOperations(); renderAlerts();
}

function stateCell(c) {
  return el("span", { class: transitional.test(c.state) ? "transitional" : "", "data-state": c.state }, c.state);
}

function renderPower() {
  const box = el("div", { class: "components" });
  for (const c of state.components.values()) {
    if (c.kind === "service") continue;
    const buttons = el("div", { class: "buttons", role: "group", "aria-label": c.id + " requests" });
    for (const name of c.allowed || []) {
      const req = powerRequest[c.kind](c.id, name);
      if (!req.subject) continue;
      buttons.append(el("button", { type: "button", "data-request": name, disabled: !canAct(), onclick: () => act(req.subject, req.body, c.id + " " + name) }, name));
    }
    const extra = [];
    // Requests the state allows but an operation in flight holds a component of.
    for (const b of c.busy || []) extra.push(el("p", { class: "busy", "data-busy": b.request }, b.request + ": busy, " + b.component + " is held by " + b.operation + " (" + b.kind + ")"));
    extra.push(...blockerLines(c.id));
    if (c.failure) extra.push(el("p", { class: "interlock" }, "Failed " + c.failure.what + ": " + c.failure.cause));
    if (c.requested) extra.push(el("p", { class: "sub" }, "Last request " + c.requested.name + " by " + (c.requested.requester || "?") + (c.requested.operation ? " (" + c.requested.operation + ")" : "")));
    box.append(el("article", { class: "component", id: "c-" + c.id, "aria-label": c.id },
      el("h3", {}, c.id, " "),
      el("p", {}, "State: ", stateCell(c), c.boot_progress && c.boot_progress !== "Unspecified" ? " · boot " + c.boot_progress : ""),
      c.cause ? el("p", { class: "sub" }, c.cause) : "",
      ...extra, buttons,
      el("button", { type: "button", class: "history", onclick: () => showHistory(c.id) }, "History")));
  }
  $("power").replaceChildren(box);
}

function renderServices() {
  const rows = [];
  for (const c of state.components.values()) {
    if (c.kind !== "service") continue;
    const noSelfState = !c.report || (c.unsupported && (c.unsupported.enable || c.unsupported.disable));
    const enabled = c.code === "ENABLED";
    const toggle = noSelfState
      ? el("button", { type: "button", class: "toggle unsupported", disabled: true, "aria-label": c.name + ": enable and disable unsupported" }, "Unsupported")
      : el("button", { type: "button", class: "toggle", "aria-pressed": String(enabled), disabled: !canAct(), "aria-label": (enabled ? "Disable " : "Enable ") + c.name,
        onclick: () => act(enabled ? "statemgr.service.disable" : "statemgr.service.enable", { id: c.id }, (enabled ? "disable " : "enable ") + c.id) }, enabled ? "Enabled" : "Disabled");
    const menu = el("details", { class: "menu" }, el("summary", {}, "Actions"));
    const buttons = el("div", { class: "buttons" });
    for (const name of ["Restart", "Start", "Stop"]) {
      buttons.append(el("button", { type: "button", "data-request": name, disabled: !canAct() || !(c.allowed || []).includes(name),
        onclick: () => name === "Restart" ? confirmRestart(c) : act(serviceSubjects[name], { id: c.id }, name + " " + c.id) }, name));
    }
    menu.append(buttons);
    const status = c.report && c.report.status ? c.report.status : (c.status_line || "");
    rows.push(el("tr", { id: "s-" + c.id, "data-code": c.code },
      el("th", { scope: "row" }, c.name),
      el("td", {}, el("span", { class: "code code-" + c.code }, c.code), el("br"), el("span", { class: "sub" }, "machine: "), stateCell(c)),
      el("td", {}, status, c.failure ? el("div", { class: "interlock" }, c.failure.what + ": " + c.failure.cause) : ""),
      el("td", {}, toggle),
      el("td", {}, menu, el("button", { type: "button", class: "history", onclick: () => showHistory(c.id) }, "History"))));
  }
  document.querySelector("#services tbody").replaceChildren(...rows);
}

function confirmRestart(c) {
  const d = $("confirm");
  $("confirm-text").textContent = "Restart " + c.name + "? The work the service is doing will be interrupted.";
  d.returnValue = "";
  d.onclose = () => { if (d.returnValue === "ok") act(serviceSubjects.Restart, { id: c.id }, "Restart " + c.id); };
  d.showModal();
}

function renderOperations() {
  const items = [...state.operations.values()].reverse().slice(0, 20).map((o) =>
    el("li", { "data-operation": o.id, "data-target": o.target, "data-outcome": o.outcome }, o.id + " · " + o.label + " · " + o.outcome + (o.state ? " · " + o.state : "") + (o.message ? " · " + o.message : "")));
  $("operations").replaceChildren(...(items.length ? items : [el("li", {}, "none from this page yet")]));
}

function renderAlerts() {
  const items = [...state.alerts.values()].map((a) => el("li", {}, a.operation + " " + (a.target || a.id || "") + ": " + a.alert + (a.message ? " — " + a.message : "") + " ",
    el("button", { type: "button", disabled: !canAct(), onclick: () => act("statemgr.operation.acknowledge", { operation: a.operation }, "acknowledge " + a.operation).then(() => { state.alerts.delete(a.operation); renderAlerts(); }) }, "Acknowledge")));
  $("alerts").replaceChildren(...(items.length ? items : [el("li", {}, "no standing alerts")]));
}

async function showHistory(id) {
  try {
    const h = await api("statemgr.history", { id, limit: 100 });
    $("history-id").textContent = id;
    $("history-rows").replaceChildren(...h.transitions.map((t) => el("tr", {}, el("td", {}, t.time), el("td", {}, t.from), el("td", {}, t.to), el("td", {}, t.trigger), el("td", {}, t.cause || ""))));
    $("history").hidden = false;
    $("history-close").focus();
  } catch (e) { showError(e); }
}

start();
