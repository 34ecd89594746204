// Turnout's dashboard: reads the admin API of the server that serves it (same origin), live from
// GET /v1/events, and acts through the same API with If-Match. Plain JavaScript, no build step.
"use strict";

const TOKEN_KEY = "turnout.token";
const PHASES = ["BeforeInstall", "Install", "AfterInstall", "Readiness", "AllowTestTraffic", "AfterAllowTestTraffic",
  "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic", "TerminationWait", "Retire"];
const FINAL = new Set(["Succeeded", "RolledBack", "Failed", "Stopped"]);
const PALETTE = ["#7c3aed", "#db2777", "#0891b2", "#ca8a04", "#4b5563", "#ea580c"];
// Which deployment actions each status allows (the API answers 409 for the others anyway).
const ALLOWED = {
  InProgress: ["promote", "pause", "rollback", "stop"],
  Paused: ["promote", "resume", "rollback", "stop"],
  WaitingForApproval: ["approve", "promote", "pause", "rollback", "stop"],
  RollingBack: ["stop"],
};
const FIGURE_REFRESH_MS = 5000;
const STATUS_REFRESH_MS = 5000;

const state = { status: null, deployments: [], audit: [], figures: {}, alarmFigures: null, lastEventId: null,
  stream: null, refreshTimer: null, ticking: null };

const $ = (id) => document.getElementById(id);

/** An element with attributes (`on*` functions become listeners) and children (strings become text). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// --- the API ----------------------------------------------------------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function headers(extra) {
  const result = Object.assign({}, extra);
  if (token()) result.Authorization = "Bearer " + token();
  return result;
}

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** One admin API call; resolves to the JSON answer, rejects with an ApiError naming the API's error code. */
async function api(method, path, { body, ifMatch } = {}) {
  const extra = {};
  if (body !== undefined) extra["Content-Type"] = "application/json";
  if (ifMatch !== undefined) extra["If-Match"] = String(ifMatch);
  const response = await fetch(path, { method, headers: headers(extra), cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json().catch(() => null);
  if (response.status === 401) { askForToken(answer && answer.error ? answer.error.message : "unauthorized"); }
  if (!response.ok) {
    const error = (answer && answer.error) || { code: "http_" + response.status, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return answer;
}

// --- token ------------------------------------------------------------------------------------------------------

function askForToken(message) {
  stopStream();
  $("dashboard").hidden = true;
  $("token-form").hidden = false;
  $("forget-token").hidden = true;
  // Several calls may be refused together: the first, which still had the token, says why.
  if (token()) $("token-error").textContent = message;
  sessionStorage.removeItem(TOKEN_KEY);
  $("token").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  start();
});

$("forget-token").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });

// --- notices and confirmation ------------------------------------------------------------------------------------

function notify(text, bad) {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = bad ? "notice bad" : "notice";
  notice.hidden = false;
}

function confirmAction(message) {
  const dialog = $("confirm");
  $("confirm-message").textContent = message;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

/** Asks, then runs `call`; a 409 says so and reloads the state, any other refusal is shown as the API words it. */
async function act(question, call, done) {
  if (!(await confirmAction(question))) return;
  try {
    await call();
    notify(done);
  } catch (error) {
    if (error.status === 409) {
      notify(`Refused (409 ${error.code}): ${error.message}. Someone else changed the state first: it was reloaded.`, true);
    } else {
      notify(`Refused (${error.status} ${error.code}): ${error.message}`, true);
    }
  }
  await refresh();
}

// --- the event stream -------------------------------------------------------------------------------------------

function setConnection(text, kind) {
  const node = $("connection");
  node.textContent = text;
  node.className = "connection " + (kind || "");
}

function stopStream() {
  if (state.stream) { state.stream.abort(); state.stream = null; }
}

/** GET /v1/events read with fetch (EventSource cannot send the token), resumed with Last-Event-ID when it ends. */
async function connectEvents() {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  let retry = 1000;
  while (state.stream === controller) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (state.lastEventId) extra["Last-Event-ID"] = state.lastEventId;
      const response = await fetch("/v1/events", { headers: headers(extra), signal: controller.signal, cache: "no-store" });
      if (response.status === 401) { askForToken("the token was refused"); return; }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      setConnection("live", "live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
          const parsed = parseEvent(block);
          if (parsed.retry) retry = parsed.retry;
          if (parsed.data !== undefined) onEvent(parsed);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    if (state.stream !== controller) return;
    setConnection("reconnecting…", "down");
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

function parseEvent(block) {
  const event = { event: "message" };
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "event") event.event = value;
    else if (field === "id") event.id = value;
    else if (field === "retry") event.retry = Number(value);
  }
  if (data.length) event.data = data.join("\n");
  return event;
}

function onEvent(event) {
  if (event.id) state.lastEventId = event.id;
  let data = {};
  try { data = JSON.parse(event.data); } catch (error) { return; }
  if (event.event === "deployment") { upsertDeployment(data); }
  // The open event after a reconnect, a reset and every change: read the state again (once for a burst).
  scheduleRefresh();
}

function upsertDeployment(summary) {
  const index = state.deployments.findIndex((d) => d.id === summary.id);
  if (index >= 0) state.deployments[index] = Object.assign({}, state.deployments[index], summary);
  else state.deployments.unshift(summary);
  renderDeployments();
}

function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh(); }, 50);
}

// --- reading the state ------------------------------------------------------------------------------------------

/** Reads the status, the deployments and the audit log and draws them; false when that failed. */
async function refresh() {
  try {
    const [status, deployments, audit] = await Promise.all([
      api("GET", "/v1/status"), api("GET", "/v1/deployments"), api("GET", "/v1/audit?limit=100")]);
    state.status = status;
    state.deployments = deployments.deployments;
    state.audit = audit.entries;
    render();
    return true;
  } catch (error) {
    if (error.status !== 401) notify(`Could not read the state: ${error.message}`, true);
    return false;
  }
}

async function refreshFigures() {
  if (!state.status) return;
  const groups = state.status.target_groups.map((g) => g.name);
  try {
    const series = await Promise.all(groups.map((g) => api("GET", `/v1/figures?group=${encodeURIComponent(g)}&seconds=900`)));
    groups.forEach((g, i) => { state.figures[g] = series[i]; });
    await refreshAlarmFigures();
    renderCharts();
    renderDeployments();
  } catch (error) { /* shown by the next status read */ }
}

/** The active deployment's replacement and live groups over the alarms' window, for the figures against the limits. */
async function refreshAlarmFigures() {
  const active = activeDeployment();
  state.alarmFigures = null;
  if (!active || !active.alarm_limits) return;
  const seconds = active.alarm_limits.window_seconds;
  const [replacement, live] = await Promise.all([active.target_group, active.live_group].map((g) =>
    api("GET", `/v1/figures?group=${encodeURIComponent(g)}&seconds=${seconds}`)));
  state.alarmFigures = { id: active.id, replacement: replacement.window, live: live.window };
}

function activeDeployment() {
  return state.deployments.find((d) => !FINAL.has(d.status)) || null;
}

// --- rendering --------------------------------------------------------------------------------------------------

function colour(group, index) {
  if (/blue/i.test(group)) return "var(--blue)";
  if (/green/i.test(group)) return "var(--green)";
  let hash = 0;
  for (const c of group) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[(hash + index * 0) % PALETTE.length];
}

function groupNames() { return state.status.target_groups.map((g) => g.name); }

/** `value` with at most `digits` decimals (1) and thousands separated. Not toLocaleString: its first call loads the
 * browser's number formats, a third of the page's first render on a slow machine. */
function number(value, digits) {
  if (value === null || value === undefined) return "–";
  const [whole, fraction] = Number(value).toFixed(digits === undefined ? 1 : digits).split(".");
  const kept = (fraction || "").replace(/0+$/, "");
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (kept ? "." + kept : "");
}

function clock(iso) { return iso ? iso.slice(11, 19) : "–"; }

function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return (h ? `${h}h ` : "") + (h || m ? `${m}m ` : "") + `${s}s`;
}

function render() {
  $("token-form").hidden = true;
  $("dashboard").hidden = false;
  $("forget-token").hidden = !token();
  $("generation").textContent = `generation ${state.status.generation}`;
  // Forms and buttons are made again only when what they show changed, so that a refresh does not take away
  // what someone is typing or the focus; the request rates are updated in place.
  const active = activeDeployment();
  const listenersKey = JSON.stringify([state.status.generation, state.status.listeners, groupNames(), active && active.id]);
  if (listenersKey !== state.listenersKey) { state.listenersKey = listenersKey; renderListeners(); }
  updateRates();
  const groupsKey = JSON.stringify(state.status.target_groups);
  if (groupsKey !== state.groupsKey) { state.groupsKey = groupsKey; renderGroups(); renderCharts(); }
  renderDeployments();
  renderAudit();
  // What benchmarks/dashboard measures: the time from navigation to the first render of the state.
  if (!state.rendered) { state.rendered = true; performance.mark("turnout-first-render"); }
}

function splitBar(forward, label) {
  const bar = el("div", { class: "split", role: "img", "aria-label": label });
  Object.entries(forward).forEach(([group, weight], i) => {
    const part = el("span", { "data-group": group, title: `${group} ${weight}%` });
    part.style.width = `${weight}%`;
    part.style.background = colour(group, i);
    bar.append(part);
  });
  return bar;
}

function renderListeners() {
  const { status } = state;
  const cards = status.listeners.map((listener) => {
    // Every group, those the listener sends nothing to at 0 %: a 100/0 split reads as one.
    const forward = Object.fromEntries(groupNames().map((g) => [g, listener.forward[g] || 0]));
    for (const [g, w] of Object.entries(listener.forward)) forward[g] = w;
    const words = Object.entries(forward).map(([g, w]) => `${g} ${w}%`).join(", ");
    const source = listener.forward_source || {};
    const numbers = splitNumbers(forward, "numbers");
    const active = activeDeployment();
    const deploymentHere = active && (active.listener === listener.name || active.test_listener === listener.name);
    const rules = (listener.rules || []).length === 0 ? [] : el("ol", { class: "rules" }, listener.rules.map(ruleItem));
    return el("article", { class: "card listener", "data-listener": listener.name },
      el("h3", {}, el("span", {}, listener.name, " ", el("small", {}, listener.bind)),
        el("small", { class: "rate", "data-rate": listener.name }, "")),
      splitBar(forward, `${listener.name}: ${words}`), numbers,
      el("small", {}, source.from === "runtime"
        ? `set by ${source.action} from ${source.caller} in generation ${source.generation}, ${clock(source.since)}`
        : "as the configuration says"),
      rules,
      // The API refuses a listener's own changes while a deployment drives it.
      deploymentHere ? el("p", { class: "muted" }, `Deployment ${active.id} drives this listener: act on the deployment.`)
        : [switchForm(listener), weightsForm(listener)]);
  });
  $("listeners").replaceChildren(...cards);
}

function updateRates() {
  const figures = state.status.figures ? state.status.figures.listeners : {};
  for (const node of document.querySelectorAll("[data-rate]")) {
    const rate = figures[node.dataset.rate];
    node.textContent = rate ? `${number(rate["10s"].request_rate)} req/s` : "";
  }
}

/** One of a listener's rules, in its order: its name and its split, or the answer it gives by itself. */
function ruleItem(rule) {
  const head = el("span", { class: "rule-name" }, `rule ${rule.name}`);
  if (!rule.forward) {
    const answer = rule.fixed_response ? `answers ${rule.fixed_response.status}` : `redirects ${rule.redirect.status}`;
    return el("li", { "data-rule": rule.name }, head, " ", el("small", {}, answer));
  }
  const words = Object.entries(rule.forward).map(([g, w]) => `${g} ${w}%`).join(", ");
  return el("li", { "data-rule": rule.name }, head, splitBar(rule.forward, `rule ${rule.name}: ${words}`),
    splitNumbers(rule.forward, "rule-numbers"));
}

/** A split's numbers, one item per group with its colour: a listener's (`numbers`) or a rule's (`rule-numbers`). */
function splitNumbers(forward, kind) {
  return el("ul", { class: kind }, Object.entries(forward).map(([group, weight], i) => {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = colour(group, i);
    return el("li", { "data-group": group }, swatch, `${group} `, el("strong", {}, `${weight}%`));
  }));
}

function switchForm(listener) {
  const id = `switch-${listener.name}`;
  const others = groupNames().filter((g) => listener.forward[g] !== 100);
  const select = el("select", { id }, others.map((g) => el("option", { value: g }, g)));
  return el("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const to = select.value;
    const generation = state.status.generation;
    act(`Switch all of ${listener.name}'s traffic to ${to}? (generation ${generation})`,
      () => api("POST", "/v1/switch", { body: { listener: listener.name, to }, ifMatch: generation }),
      `${listener.name} switched to ${to}.`);
  } }, el("label", { for: id }, `Switch ${listener.name} to`, select),
  el("button", { type: "submit", class: "primary", disabled: others.length === 0 }, "Switch"));
}

function weightsForm(listener) {
  const inputs = groupNames().map((group) => {
    const id = `weight-${listener.name}-${group}`;
    return { group, node: el("label", { for: id }, `${group} %`,
      el("input", { id, type: "number", min: 0, max: 100, step: 1, value: listener.forward[group] || 0, "data-group": group })) };
  });
  return el("form", { class: "inline", "aria-label": `Weights of ${listener.name}`, onsubmit: (event) => {
    event.preventDefault();
    const forward = {};
    for (const { group, node } of inputs) {
      const weight = Number(node.querySelector("input").value);
      if (weight > 0 || group in listener.forward) forward[group] = weight;
    }
    const generation = state.status.generation;
    const words = Object.entries(forward).map(([g, w]) => `${g} ${w}%`).join(", ");
    act(`Set ${listener.name}'s weights to ${words}? (generation ${generation})`,
      () => api("PUT", `/v1/listeners/${encodeURIComponent(listener.name)}/forward`, { body: forward, ifMatch: generation }),
      `${listener.name}'s weights set to ${words}.`);
  } }, inputs.map((i) => i.node), el("button", { type: "submit" }, "Set weights"));
}

function renderGroups() {
  const cards = state.status.target_groups.map((group) => {
    const rows = group.targets.map((target) => {
      const draining = target.state === "draining";
      const drain = draining && target.drain_until
        ? el("span", { class: "countdown", "data-until": target.drain_until }, "") : null;
      const registered = target.name || target.target;
      return el("tr", { "data-target": target.target },
        el("td", { class: "mono" }, target.target, target.name ? el("div", { class: "muted" }, target.name) : null),
        el("td", {}, el("span", { class: `state ${target.state}` }, target.state), drain ? " " : null, drain),
        el("td", {}, target.reason || "", target.description ? el("div", { class: "muted" }, target.description) : null),
        el("td", {}, draining ? null : el("button", { type: "button", class: "danger", "aria-label": `Drain ${registered} from ${group.name}`,
            onclick: () => {
              const generation = state.status.generation;
              act(`Deregister ${registered} from ${group.name}? It drains for ${group.deregistration_delay}. (generation ${generation})`,
                () => api("DELETE", `/v1/target-groups/${encodeURIComponent(group.name)}/targets/${encodeURIComponent(registered)}`,
                  { ifMatch: generation }),
                `${registered} is draining from ${group.name}.`);
            } }, "Drain")));
    });
    return el("article", { class: "card group", "data-group": group.name },
      el("h3", {}, group.name, el("small", {}, `${group.algorithm.replace(/_/g, " ")}, drains ${group.deregistration_delay}`)),
      el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Target"), el("th", {}, "State"), el("th", {}, "Reason"), el("th", {}, el("span", { class: "muted" }, "Action")))),
        el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 4 }, "no targets"))))),
      el("div", { class: "charts", "data-charts": group.name }));
  });
  $("groups").replaceChildren(...cards);
  tick();
}

function chart(title, kind, values, format) {
  const present = values.filter((v) => v !== null && v !== undefined);
  const peak = present.length ? Math.max(...present) : 0;
  const top = peak > 0 ? peak : 1;
  // 15 minutes wide, the newest second at the right edge, whatever the proxy has kept so far.
  const offset = 900 - values.length;
  const picture = svg("svg", { viewBox: "0 0 900 40", preserveAspectRatio: "none", role: "img",
    "aria-label": `${title}, last 15 minutes: latest ${format(present[present.length - 1])}, peak ${format(peak)}` });
  const points = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    points.push(`${offset + i + 1},${(38 - 36 * v / top).toFixed(1)}`);
  });
  if (points.length) picture.append(svg("polyline", { points: points.join(" ") }));
  return el("figure", { class: `chart ${kind}` }, picture,
    el("figcaption", {}, `${title}: ${format(present[present.length - 1])} (peak ${format(peak)})`));
}

function renderCharts() {
  for (const box of document.querySelectorAll("[data-charts]")) {
    const series = state.figures[box.dataset.charts];
    if (!series) continue;
    const errors = series.requests.map((r, i) => r > 0 ? (series.responses_5xx[i] + series.proxy_errors[i]) / r : null);
    box.replaceChildren(
      chart("req/s", "rate", series.requests, (v) => number(v, 0)),
      chart("5xx rate", "errors", errors, (v) => v === undefined || v === null ? "–" : `${number(v * 100, 2)}%`),
      chart("p99", "latency", series.p99_ms, (v) => v === undefined || v === null ? "–" : `${number(v, 2)} ms`));
  }
}

function renderDeployments() {
  if (!state.status) return;
  const active = activeDeployment();
  $("deployment").replaceChildren(active ? deploymentCard(active) : el("p", { class: "muted" }, "No deployment in progress."));
  const past = state.deployments.filter((d) => FINAL.has(d.status));
  $("history").replaceChildren(past.length ? el("div", { class: "scroll" }, el("table", { id: "history-table" },
    el("thead", {}, el("tr", {}, ["Deployment", "Status", "Groups", "Started", "Ended", "Reason", "Report"].map((h) => el("th", {}, h)))),
    el("tbody", {}, past.map((d) => el("tr", { "data-deployment": d.id },
      el("td", { class: "mono" }, d.id), el("td", {}, el("span", { class: `state ${d.status}` }, d.status)),
      el("td", {}, `${d.live_group} → ${d.target_group}`), el("td", {}, clock(d.created)), el("td", {}, clock(d.ended)),
      el("td", {}, d.reason), el("td", {}, reportDetails(d)))))))
    : el("p", { class: "muted" }, "None yet."));
  tick();
}

function reportDetails(deployment) {
  const body = el("div", {}, "loading…");
  const details = el("details", { ontoggle: async () => {
    if (!details.open) return;
    try {
      const report = await api("GET", `/v1/deployments/${encodeURIComponent(deployment.id)}/report`);
      const t = report.totals;
      body.replaceChildren(el("dl", {},
        el("dt", {}, "steps"), el("dd", {}, report.steps.length),
        el("dt", {}, "5xx / proxy errors / connect errors"), el("dd", {}, `${t.responses_5xx} / ${t.proxy_errors} / ${t.connect_errors}`),
        el("dt", {}, "longest drain"), el("dd", {}, t.longest_drain_ms === null ? "–" : `${t.longest_drain_ms} ms`)));
    } catch (error) { body.textContent = error.message; }
  } }, el("summary", {}, "report"), body);
  return details;
}

function deploymentCard(d) {
  const phases = d.phases || [];
  const byPhase = Object.fromEntries(phases.map((p) => [p.phase, p]));
  const replacement = d.replacement_weight, live = 100 - replacement;
  const liveBar = el("span", { "data-group": d.live_group }, `${d.live_group} ${live}%`);
  liveBar.style.width = `${live}%`; liveBar.style.background = colour(d.live_group, 0);
  const newBar = el("span", { "data-group": d.target_group }, `${d.target_group} ${replacement}%`);
  newBar.style.width = `${replacement}%`; newBar.style.background = colour(d.target_group, 1);
  const allowed = ALLOWED[d.status] || [];
  const button = (action, label, cls) => el("button", { type: "button", class: cls, "data-action": action,
    disabled: !allowed.includes(action), onclick: () => act(`${label} deployment ${d.id}?`,
      () => api("POST", `/v1/deployments/${encodeURIComponent(d.id)}/${action}`, { body: {} }),
      `${label}: done.`) }, label);
  const countdown = d.paused_remaining_ms !== null && d.paused_remaining_ms !== undefined
    ? `paused with ${duration(d.paused_remaining_ms)} left`
    : d.deadline ? el("span", { class: "countdown", "data-until": d.deadline }, "") : "–";
  return el("article", { class: "card deployment", "data-deployment": d.id },
    el("h3", {}, el("span", { class: "mono" }, d.id), el("span", { class: `state ${d.status}`, id: "deployment-status" }, d.status)),
    el("p", {}, `${d.listener}: ${d.live_group} → ${d.target_group}`, d.test_listener ? ` (test listener ${d.test_listener})` : "",
      el("br"), el("span", { id: "deployment-reason" }, d.reason)),
    el("div", { class: "progress", role: "img", id: "deployment-progress",
      "aria-label": `traffic shifting: ${d.live_group} ${live}%, ${d.target_group} ${replacement}%` }, liveBar, newBar),
    el("p", {}, `step ${d.step} of ${d.steps_total}`, " · next in ", countdown),
    el("ol", { class: "phases", id: "deployment-phases" }, PHASES.map((name) => {
      const p = byPhase[name];
      const outcome = p ? p.outcome : "pending";
      return el("li", { class: outcome, "data-phase": name },
        el("span", {}, name), el("span", { class: `state ${outcome}` }, outcome),
        el("span", { class: "muted" }, p ? `${clock(p.started)}${p.ended ? " – " + clock(p.ended) : ""}${p.detail ? " · " + p.detail : ""}` : ""),
        p && p.output_tail ? el("pre", {}, p.output_tail) : null);
    })),
    alarmTable(d),
    el("div", { class: "actions" }, button("promote", "Promote", "primary"), button("approve", "Approve"),
      button("pause", "Pause"), button("resume", "Resume"), button("rollback", "Roll back", "danger"),
      button("stop", "Stop", "danger")));
}

function alarmTable(d) {
  const limits = d.alarm_limits;
  if (!limits) return el("p", { class: "muted" }, "No alarms.");
  const figures = state.alarmFigures && state.alarmFigures.id === d.id ? state.alarmFigures : null;
  const window = figures ? figures.replacement : null;
  const live = figures ? figures.live : null;
  const ratio = window && live && window.p99_ms !== null && live.p99_ms ? window.p99_ms / live.p99_ms : null;
  const rows = [
    ["5xx rate", window ? window.error_rate_5xx : null, limits.max_5xx_rate, (v) => `${number(v * 100, 2)}%`],
    ["p99", window ? window.p99_ms : null, limits.max_p99_ms, (v) => `${number(v, 2)} ms`],
    ["p99 vs live", ratio, limits.max_p99_ratio, (v) => `× ${number(v, 2)}`],
    ["connect errors", window ? window.connect_errors : null, limits.max_connect_errors, (v) => number(v, 0)],
  ].filter((row) => row[2] !== null && row[2] !== undefined);
  const judged = window && window.requests >= limits.min_requests;
  return el("div", { class: "scroll" }, el("table", { id: "deployment-alarms" },
    el("caption", { class: "muted" }, `${d.target_group} over ${limits.window_seconds}s`,
      window ? `, ${window.requests} requests` : "", judged ? "" : ` (judged from ${limits.min_requests} requests)`),
    el("thead", {}, el("tr", {}, el("th", {}, "Alarm"), el("th", {}, "Now"), el("th", {}, "Limit"))),
    el("tbody", {}, rows.map(([name, value, limit, format]) => el("tr", {},
      el("td", {}, name),
      el("td", { class: value !== null && value > limit ? "over" : "" }, value === null ? "–" : format(value)),
      el("td", {}, format(limit)))),
    (d.alarms || []).map((a) => el("tr", { class: "over" }, el("td", {}, `fired: ${a.alarm}`),
      el("td", {}, number(a.value, 4)), el("td", {}, number(a.threshold, 4)))))));
}

function renderAudit() {
  const entries = state.audit.slice().reverse();
  $("audit").replaceChildren(el("table", { id: "audit-table" },
    el("thead", {}, el("tr", {}, ["#", "Time", "Action", "Caller", "Generation", "Change"].map((h) => el("th", {}, h)))),
    el("tbody", {}, entries.map((e) => el("tr", { "data-audit": e.id },
      el("td", {}, e.id), el("td", {}, clock(e.time)), el("td", {}, e.action), el("td", {}, e.caller),
      el("td", {}, `${e.generation_before} → ${e.generation_after}`), el("td", { class: "mono" }, describeDiff(e.diff)))))));
}

function describeDiff(diff) {
  if (!diff) return "";
  const parts = [];
  const words = (forward) => Object.entries(forward || {}).map(([g, w]) => `${g} ${w}`).join("/");
  for (const [name, change] of Object.entries(diff.listeners || {})) {
    parts.push(`${name}: ${words(change.before)} → ${words(change.after)}`);
  }
  for (const [name, rules] of Object.entries(diff.rules || {})) {
    for (const [rule, change] of Object.entries(rules)) {
      parts.push(`${name} rule ${rule}: ${words(change.before)} → ${words(change.after)}`);
    }
  }
  for (const [name, change] of Object.entries(diff.target_groups || {})) {
    parts.push(`${name}: ${JSON.stringify(change)}`);
  }
  return parts.join("; ");
}

/** Counts every countdown down once a second. */
function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll(".countdown[data-until]")) {
    node.textContent = duration(Date.parse(node.dataset.until) - now);
  }
}

// --- start ------------------------------------------------------------------------------------------------------

async function start() {
  $("token-error").textContent = "";
  // One round of reads (a 401 shows the token form instead), then the figures and the stream.
  if (!(await refresh())) return;
  $("notice").hidden = true;
  refreshFigures();
  connectEvents();
}

setInterval(tick, 1000);
setInterval(() => { if (state.stream) refreshFigures(); }, FIGURE_REFRESH_MS);
// The request rates come with the status: read it again now and then even when nothing happens.
setInterval(() => { if (state.stream && !document.hidden) scheduleRefresh(); }, STATUS_REFRESH_MS);
start();
