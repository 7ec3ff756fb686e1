// The smppgw web console: talks to /api with the admin token kept for this browser session.
"use strict";

const STATUS_COLOURS = {
  ESME_ROK: "#2da44e",
  ESME_RTHROTTLED: "#d4a72c",
  ESME_RMSGQFUL: "#bf8700",
  "0x00000400": "#8250df",
  "0x00000406": "#6e40c9",
};
const OTHER_COLOURS = ["#cf222e", "#e16f24", "#1f6feb", "#57606a", "#bc4c00", "#0969da"];
const STATE_COLOURS = { DELIVRD: "#2da44e", UNDELIV: "#cf222e", REJECTD: "#e16f24", EXPIRED: "#d4a72c", DELETED: "#8c959f", UNKNOWN: "#57606a" };

const $ = (sel, root = document) => root.querySelector(sel);
const state = { view: "overview", timer: null, busy: false, handset: "" };

function token() { return sessionStorage.getItem("smppgw-token") || ""; }
function operator() { return sessionStorage.getItem("smppgw-operator") || ""; }

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
  if (operator()) headers["X-Operator"] = operator();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) { showLogin("The token was refused."); throw new Error("unauthorised"); }
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function money(amount, unit) {
  if (unit !== "li") return `${amount} ${unit}`;
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  return `${sign}${Math.floor(abs / 1000).toLocaleString("en")}.${String(abs % 1000).padStart(3, "0")} CNY`;
}

function shortTime(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+/, "").slice(0, 19) : "–"; }
function pill(text, cls) { return el("span", { class: `pill ${cls || text}` }, text); }
function fill(tbody, rows) { tbody.replaceChildren(...rows); const empty = tbody.closest(".card")?.querySelector(".empty"); if (empty) empty.hidden = rows.length > 0; }

// ---- login --------------------------------------------------------------------------------

function showLogin(message) {
  sessionStorage.removeItem("smppgw-token");
  clearInterval(state.timer);
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  $("#login-token").focus();
}

async function login(event) {
  event.preventDefault();
  sessionStorage.setItem("smppgw-token", $("#login-token").value.trim());
  sessionStorage.setItem("smppgw-operator", $("#login-operator").value.trim());
  try {
    await api("GET", "/api/overview");
  } catch (err) {
    if (err.message !== "unauthorised") showLogin(err.message);
    return;
  }
  $("#login-token").value = "";
  start();
}

function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#who").textContent = operator() ? `signed in as ${operator()}` : "";
  show(location.hash.slice(1) || "overview");
  clearInterval(state.timer);
  state.timer = setInterval(tick, 1000);
}

// ---- views --------------------------------------------------------------------------------

function show(view) {
  if (!document.getElementById(`view-${view}`)) view = "overview";
  state.view = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.view === view);
  if (view === "messages" && !$("#messages tbody").children.length) search().catch(() => {});
  tick(true);
}

async function tick(now) {
  if (state.busy && !now) return;
  state.busy = true;
  try {
    if (state.view === "overview") await refreshOverview();
    else if (state.view === "sessions") await refreshSessions();
    else if (state.view === "carriers") await refreshCarriers();
    else if (state.view === "accounts") await refreshAccounts();
    else if (state.view === "review") await refreshReview();
    else if (state.view === "incidents") await refreshIncidents();
    else if (state.view === "handsets") await refreshHandsets();
    else if (state.view === "certification") await refreshCertification();
    $("#live").classList.remove("stale");
  } catch (err) {
    $("#live").classList.add("stale");
  } finally {
    state.busy = false;
  }
}

async function refreshOverview() {
  const [overview, carriers, sessions] = await Promise.all([
    api("GET", "/api/overview"), api("GET", "/api/carriers"), api("GET", "/api/sessions"),
  ]);
  $("#submits-rate").textContent = overview.submits_per_s.toLocaleString("en");
  $("#receipts-rate").textContent = overview.receipts_per_s.toLocaleString("en");
  $("#bound-count").textContent = overview.gateway.bound;
  $("#active-count").textContent = overview.gateway.active_messages.toLocaleString("en");
  $("#pending-count").textContent = overview.gateway.pending_deliveries.toLocaleString("en");
  $("#submitted-total").textContent = overview.gateway.submitted.toLocaleString("en");
  showReviewCount(overview.gateway.review_queue);
  drawChart(overview.series);
  fill($("#overview-carriers"), carriers.carriers.map((c) => el("tr", {},
    el("td", {}, `${c.code} `, el("span", { class: "muted" }, c.name)),
    el("td", {}, pill(c.up ? "up" : "down")),
    el("td", { class: "num" }, String(c.queue_depth)),
    el("td", { class: "num" }, String(c.in_flight)))));
  fill($("#overview-sessions"), sessions.sessions.map((s) => el("tr", {},
    el("td", {}, s.account), el("td", {}, s.bind_type), el("td", { class: "mono" }, s.peer))));
}

function colourOf(status, index) { return STATUS_COLOURS[status] || OTHER_COLOURS[index % OTHER_COLOURS.length]; }

function drawChart(series) {
  const canvas = $("#chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = 220;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const statuses = [...new Set(series.flatMap((s) => Object.keys(s.answers)))].sort((a, b) => (a === "ESME_ROK" ? -1 : b === "ESME_ROK" ? 1 : a.localeCompare(b)));
  const colours = Object.fromEntries(statuses.map((s, i) => [s, colourOf(s, i)]));
  const left = 44, bottom = 22, top = 8, plotW = width - left - 8, plotH = height - top - bottom;
  const slots = 300, barW = plotW / slots;
  const peak = Math.max(1, ...series.map((s) => Object.values(s.answers).reduce((a, b) => a + b, 0)));
  const scale = niceCeil(peak);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#6b7685"; ctx.strokeStyle = "#e3e7ee";
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + plotW, y); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(String(Math.round((scale * i) / 4)), left - 6, y + 4);
  }
  ctx.textAlign = "center";
  for (const minutes of [5, 4, 3, 2, 1, 0]) ctx.fillText(minutes ? `-${minutes} min` : "now", left + plotW - (minutes * 60 * plotW) / slots, height - 6);
  const offset = slots - series.length;
  series.forEach((sample, i) => {
    let y = top + plotH;
    for (const status of statuses) {
      const n = sample.answers[status] || 0;
      if (!n) continue;
      const h = (n / scale) * plotH;
      ctx.fillStyle = colours[status];
      ctx.fillRect(left + (offset + i) * barW, y - h, Math.max(1, barW - 0.5), h);
      y -= h;
    }
  });
  $("#legend").replaceChildren(...(statuses.length ? statuses : ["ESME_ROK"]).map((s) => el("span", { style: `--c:${colours[s] || STATUS_COLOURS.ESME_ROK}` }, s)));
}

function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

async function refreshSessions() {
  const { sessions } = await api("GET", "/api/sessions");
  fill($("#sessions tbody"), sessions.map((s) => el("tr", {},
    el("td", {}, s.account), el("td", {}, s.bind_type), el("td", { class: "mono" }, s.peer),
    el("td", {}, shortTime(s.since)), el("td", {}, s.interface_version),
    el("td", { class: "num" }, `${s.window_in_use} / ${s.window}`), el("td", { class: "num" }, String(s.requests_pending)),
    boundCell(s.throughput))));
}

// What bounds a session's throughput (its scorecard's verdict), the evidence in the tooltip.
function boundCell(t) {
  if (!t) return el("td", { class: "muted" }, "-");
  const text = t.bound ? `${t.bound}: ${t.rate_per_s}/s (lifted ~${t.lifted_rate_per_s}/s)` : `${t.rate_per_s}/s`;
  return el("td", { title: t.evidence.join("\n") }, text);
}

function outcomeBar(reported) {
  const total = Object.values(reported).reduce((a, b) => a + b, 0);
  const bar = el("div", { class: "bar", title: Object.entries(reported).map(([k, v]) => `${k}: ${v}`).join(", ") || "no reports yet" });
  for (const [stat, n] of Object.entries(reported)) bar.append(el("i", { style: `width:${(100 * n) / total}%;background:${STATE_COLOURS[stat] || "#57606a"}` }));
  return el("div", {}, bar, el("div", { class: "muted" }, total ? Object.entries(reported).map(([k, v]) => `${k} ${v}`).join(" · ") : "no reports yet"));
}

async function refreshCarriers() {
  const { carriers } = await api("GET", "/api/carriers");
  fill($("#carriers tbody"), carriers.map((c) => el("tr", { dataset: { carrier: c.code } },
    el("td", { class: "mono" }, c.code), el("td", {}, c.name), el("td", {}, pill(c.up ? "up" : "down")),
    el("td", { class: "num" }, String(c.queue_depth)), el("td", { class: "num" }, String(c.in_flight)),
    el("td", { class: "num" }, String(c.stats.dispatched)), el("td", {}, outcomeBar(c.stats.reported)),
    el("td", { class: "num" }, el("button", {
      class: `toggle ${c.up ? "danger" : "good"}`,
      onclick: async (event) => {
        event.target.disabled = true;
        try { await api("POST", `/api/carriers/${encodeURIComponent(c.code)}/outage`, { down: c.up }); } finally { await refreshCarriers(); }
      },
    }, c.up ? "Take down" : "Bring up")))));
}

async function refreshAccounts() {
  const { accounts } = await api("GET", "/api/accounts");
  fill($("#accounts tbody"), accounts.map((a) => el("tr", { dataset: { account: a.system_id } },
    el("td", { class: "mono" }, a.system_id), el("td", {}, pill(a.status)),
    el("td", { class: "num balance" }, money(a.balance, a.unit)), el("td", {}, a.rate_plan),
    el("td", { class: "num" }, String(a.bound)), el("td", { class: "mono" }, a.source_addrs.join(", ") || "any"),
    el("td", { class: "num" }, el("button", {
      class: `status-toggle ${a.status === "active" ? "danger" : "good"}`,
      onclick: (event) => setStatus(event.target, a.system_id, a.status === "active" ? "suspend" : "reinstate"),
    }, a.status === "active" ? "Suspend" : "Reinstate")))));
  const ids = accounts.map((a) => a.system_id);
  for (const select of [$("#topup-account"), $("#iface-account")]) {
    const chosen = select.value;
    if ([...select.options].map((o) => o.value).join() !== ids.join()) {
      select.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
      if (ids.includes(chosen)) select.value = chosen;
      if (select.id === "iface-account") await loadHttpAccess();
    }
  }
}

function showHttpAccess(access) {
  for (const box of document.querySelectorAll("#iface-fronts input")) box.checked = access.fronts.includes(box.value);
  $("#iface-secret-state").textContent = access.api_secret_set ? "An API secret is set (never shown again)." : "No API secret yet.";
}

async function loadHttpAccess() {
  const account = $("#iface-account").value;
  if (account) showHttpAccess(await api("GET", `/api/accounts/${encodeURIComponent(account)}/http`));
}

async function saveHttpFronts(event) {
  event.preventDefault();
  const result = $("#iface-result");
  const account = $("#iface-account").value;
  const fronts = [...document.querySelectorAll("#iface-fronts input:checked")].map((box) => box.value);
  try {
    showHttpAccess(await api("POST", `/api/accounts/${encodeURIComponent(account)}/http/fronts`, { fronts }));
    result.className = "ok";
    result.textContent = `${account} may use: ${fronts.join(", ") || "no HTTP front"}`;
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  }
}

async function newApiSecret() {
  const result = $("#iface-result");
  const account = $("#iface-account").value;
  if (!confirm(`Make a new API secret for ${account}? Its clients must switch to it: the old one stops working now.`)) return;
  try {
    const answer = await api("POST", `/api/accounts/${encodeURIComponent(account)}/http/secret`, {});
    showHttpAccess(answer);
    result.className = "ok";
    // Shown this once: the gateway never answers it again.
    result.textContent = `New API secret of ${account} (copy it now, it is shown once): ${answer.api_secret}`;
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  }
}

async function setStatus(button, account, action) {
  const result = $("#account-result");
  if (action === "suspend" && !confirm(`Suspend ${account}? Its sessions are unbound and its binds refused until it is reinstated.`)) return;
  button.disabled = true;
  const body = operator() ? { operator: operator() } : {};
  try {
    const answer = await api("POST", `/api/accounts/${encodeURIComponent(account)}/${action}`, body);
    result.className = "ok";
    result.textContent = `${account} is ${answer.status}`;
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  } finally {
    await refreshAccounts();
  }
}

async function topup(event) {
  event.preventDefault();
  const result = $("#topup-result");
  const account = $("#topup-account").value;
  const amount = Math.round(parseFloat($("#topup-amount").value) * 1000);
  const body = { amount, reference: $("#topup-reference").value.trim() };
  if (operator()) body.operator = operator();
  $("#topup-submit").disabled = true;
  try {
    const answer = await api("POST", `/api/accounts/${encodeURIComponent(account)}/topups`, body);
    result.className = "ok";
    result.textContent = `Credited ${money(answer.entry.amount, answer.entry.unit)} to ${account}: balance ${money(answer.balance, answer.entry.unit)}`;
    $("#topup-reference").value = "";
    await refreshAccounts();
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  } finally {
    $("#topup-submit").disabled = false;
  }
}

async function search(event) {
  event?.preventDefault();
  const params = new URLSearchParams();
  const add = (name, id) => { const v = $(id).value.trim(); if (v) params.set(name, v); };
  add("id", "#search-id"); add("account", "#search-account"); add("destination", "#search-destination");
  for (const [name, id] of [["since", "#search-since"], ["until", "#search-until"]]) {
    const v = $(id).value;
    if (v) params.set(name, String(new Date(v).getTime() / 1000));
  }
  const { messages } = await api("GET", `/api/messages?${params}`);
  fill($("#messages tbody"), messages.map((m) => el("tr", {
    class: "clickable", dataset: { message: m.message_id },
    onclick: (e) => { for (const r of document.querySelectorAll("#messages tr.selected")) r.classList.remove("selected"); e.currentTarget.classList.add("selected"); history(m.message_id); },
  },
  el("td", { class: "mono" }, m.message_id), el("td", {}, m.account), el("td", { class: "mono" }, m.destination_addr),
  el("td", {}, m.carrier === m.home_carrier ? m.carrier : `${m.carrier} (failover from ${m.home_carrier})`),
  el("td", {}, pill(m.state)), el("td", {}, shortTime(m.submitted_at)))));
  if (messages.length === 1) history(messages[0].message_id);
}

async function history(messageId) {
  const { message, events } = await api("GET", `/api/messages/${encodeURIComponent(messageId)}/history`);
  $("#history-id").textContent = message.message_id;
  $("#history-hint").hidden = true;
  $("#history").replaceChildren(...events.map((e) => el("li", { class: `${e.step}${e.detail.startsWith("failover") ? " failover" : ""}` },
    el("span", { class: "step" }, e.step), el("span", { class: "at" }, e.at ? shortTime(e.at) : ""),
    el("div", { class: "detail" }, e.detail))));
}

function showReviewCount(count) {
  const badge = $("#review-badge");
  badge.textContent = String(count);
  badge.hidden = !count;
}

function marked(text, term) {
  // The text with the matched term highlighted (as text nodes: never as HTML).
  const at = term ? text.indexOf(term) : -1;
  if (at < 0) return el("span", {}, text);
  return el("span", {}, text.slice(0, at), el("mark", {}, term), text.slice(at + term.length));
}

async function refreshReview() {
  const { held, timeout_action: timeoutAction } = await api("GET", "/api/review");
  showReviewCount(held.length);
  $("#review-timeout").textContent = `not decided by the deadline: ${timeoutAction === "approve" ? "approved" : "rejected"}`;
  fill($("#review tbody"), held.map((h) => el("tr", { dataset: { message: h.message_id } },
    el("td", { class: "mono" }, h.message_id, h.message_ids.length > 1 ? el("div", { class: "muted" }, `${h.message_ids.length} parts`) : ""),
    el("td", {}, h.account), el("td", { class: "mono" }, h.destination_addr),
    el("td", {}, pill(h.category, "review"), " ", h.term), el("td", { class: "text" }, marked(h.text, h.term)),
    el("td", {}, shortTime(h.held_at)), el("td", {}, shortTime(h.deadline)),
    el("td", { class: "num actions" },
      el("button", { class: "good approve", onclick: (e) => decide(e.target, h.message_id, "approve") }, "Approve"),
      el("button", { class: "danger reject", onclick: (e) => decide(e.target, h.message_id, "reject") }, "Reject")))));
}

async function decide(button, messageId, verdict) {
  const result = $("#review-result");
  for (const b of button.parentElement.querySelectorAll("button")) b.disabled = true;
  const body = operator() ? { operator: operator() } : {};
  try {
    const answer = await api("POST", `/api/review/${encodeURIComponent(messageId)}/${verdict}`, body);
    result.className = "ok";
    result.textContent = `${answer.decision}: ${answer.message_ids.join(" ")}`;
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  } finally {
    await refreshReview();
  }
}

async function refreshIncidents() {
  const { incidents } = await api("GET", "/api/incidents");
  fill($("#incidents tbody"), incidents.slice().reverse().map((i) => el("tr", { dataset: { incident: String(i.incident_id) } },
    el("td", { class: "num" }, String(i.incident_id)), el("td", {}, shortTime(i.at)), el("td", {}, i.account),
    el("td", {}, `${i.category} `, el("span", { class: "muted" }, `(legal ${i.legal_category})`)), el("td", {}, i.term),
    el("td", {}, pill(i.action)), el("td", { class: "mono" }, i.source_ip), el("td", { class: "mono" }, i.destination),
    el("td", { class: "text" }, marked(i.text, i.term)))));
}

async function refreshHandsets() {
  const { handsets } = await api("GET", "/api/handsets");
  fill($("#handsets tbody"), handsets.map((h) => el("tr", { class: "clickable", dataset: { msisdn: h.msisdn }, onclick: () => { $("#handset-number").value = h.msisdn; showHandset(); } },
    el("td", { class: "mono" }, h.msisdn), el("td", { class: "num" }, String(h.parts)), el("td", {}, shortTime(h.last_at)))));
  if (state.handset) await showHandset();
}

async function showHandset(event) {
  event?.preventDefault();
  const number = $("#handset-number").value.trim();
  if (!number) return;
  state.handset = number;
  const inbox = await api("GET", `/api/handsets/${encodeURIComponent(number)}`);
  $("#handset-title").textContent = `${inbox.number} (${inbox.msisdn})`;
  $("#handset-summary").textContent = `${inbox.messages.length} message(s), ${inbox.broken} broken`;
  $("#handset-empty").hidden = inbox.messages.length > 0;
  $("#handset-empty").textContent = "Nothing was accepted for this number.";
  $("#handset-inbox").replaceChildren(...inbox.messages.map((m) => el("li", { class: `sms${m.broken ? " broken" : ""}` },
    el("div", { class: "sms-head" }, el("span", { class: "mono" }, m.from), " ", el("span", { class: "muted" },
      `${shortTime(m.received_at)} · ${m.parts_received.length}/${m.parts_expected} parts, ${m.method_name}${m.reference !== null ? ` ref ${m.reference}` : ""} · ${m.coding} · ${m.accounts.join(", ")}`)),
    m.signature ? el("div", { class: "signature" }, `signature ${m.signature} at the ${m.signature_at}`) : "",
    el("div", { class: m.text !== null ? "sms-text" : "sms-text mono" }, m.text !== null ? m.text : `hex ${m.hex}`),
    ...m.problems.map((p) => el("div", { class: "problem" }, pill(p.cause, "bad"), " ", p.detail)))));
}

// ---- certification ------------------------------------------------------------------------

const OUTCOME_WORDS = { pass: "pass", fail: "fail", not_applicable: "not applicable" };
const certification = { selected: null, shown: "" };

function runPill(c) {
  if (c.state !== "done") return el("span", {}, pill("running"), " ", el("span", { class: "muted" }, c.running || ""));
  return pill(c.passed ? "passed" : "failed");
}

function countsText(counts) {
  return `${counts.pass} passed, ${counts.fail} failed, ${counts.not_applicable} not applicable`;
}

async function refreshCertification() {
  const [{ certifications }, { sessions }] = await Promise.all([api("GET", "/api/certifications"), api("GET", "/api/sessions")]);
  // The probe sends deliver_sm: only an SMPP receiver or transceiver can be certified.
  const receiving = [...new Set(sessions.filter((s) => s.protocol === "smpp" && ["receiver", "transceiver"].includes(s.bind_type)).map((s) => s.account))].sort();
  const select = $("#certify-account");
  const chosen = select.value;
  if ([...select.options].map((o) => o.value).join() !== receiving.join()) {
    select.replaceChildren(...receiving.map((id) => el("option", { value: id }, id)));
    if (receiving.includes(chosen)) select.value = chosen;
  }
  $("#certify-none").hidden = receiving.length > 0;
  $("#certify-start").disabled = !receiving.length;
  fill($("#certifications tbody"), certifications.slice().reverse().map((c) => el("tr", {
    class: `clickable${c.id === certification.selected ? " selected" : ""}`, dataset: { certification: String(c.id) },
    onclick: () => { certification.selected = c.id; refreshCertification().catch(() => {}); },
  },
  el("td", { class: "num" }, String(c.id)), el("td", {}, c.account), el("td", {}, c.bind.replace("bind_", "")),
  el("td", { class: "mono" }, c.peer), el("td", {}, runPill(c)), el("td", {}, countsText(c.counts)),
  el("td", { class: "num" }, c.duration === null ? "–" : `${c.duration.toFixed(1)} s`))));
  const selected = certifications.find((c) => c.id === certification.selected);
  if (selected) showRun(selected);
}

function showRun(report) {
  // Redrawn only when the report changed, and with the same PDU lists left open.
  const key = JSON.stringify(report);
  if (key === certification.shown) return;
  certification.shown = key;
  const open = new Set([...document.querySelectorAll("#checks tr[data-check] details[open]")].map((d) => d.closest("tr").dataset.check));
  $("#certification-title").textContent = `#${report.id} of ${report.account} (${report.bind.replace("bind_", "")} from ${report.peer})`;
  $("#certification-summary").replaceChildren(runPill(report), " ", countsText(report.counts));
  $("#checks-hint").hidden = true;
  $("#certification-downloads").hidden = false;
  for (const link of document.querySelectorAll("#certification-downloads a")) {
    link.href = `/api/certifications/${report.id}?format=${link.dataset.format}`;
    link.download = `certification-${report.id}-${report.account}.${link.dataset.format === "junit" ? "xml" : "json"}`;
  }
  fill($("#checks tbody"), report.checks.map((v) => el("tr", { dataset: { check: v.check } },
    el("td", {}, el("div", { class: "mono" }, v.check), el("div", { class: "muted" }, v.title)),
    el("td", {}, pill(OUTCOME_WORDS[v.outcome], v.outcome)),
    el("td", { class: "text" }, v.detail),
    el("td", { class: "num" }, `${v.duration.toFixed(3)} s`),
    el("td", {}, evidenceList(v.evidence, open.has(v.check))))));
}

function evidenceList(evidence, open) {
  if (!evidence.length) return el("span", { class: "muted" }, "–");
  const details = el("details", {}, el("summary", {}, `${evidence.length} PDU${evidence.length > 1 ? "s" : ""}`),
    el("ol", { class: "pdus" }, ...evidence.map((e) => el("li", { class: e.direction },
      el("span", { class: "at" }, `+${e.at.toFixed(3)} s`), " ",
      el("span", { class: "dir", title: e.direction === "out" ? "gateway to client" : "client to gateway" }, e.direction === "out" ? "→" : "←"), " ",
      e.summary, el("div", { class: "mono hex" }, e.hex)))));
  details.open = open;
  return details;
}

async function startCertification(event) {
  event.preventDefault();
  const result = $("#certify-result");
  const account = $("#certify-account").value;
  $("#certify-start").disabled = true;
  try {
    const report = await api("POST", "/api/certifications", { account });
    certification.selected = report.id;
    result.className = "ok";
    result.textContent = `Certification ${report.id} of ${account} started on ${report.peer}`;
  } catch (err) {
    result.className = "bad";
    result.textContent = err.message;
  } finally {
    $("#certify-start").disabled = false;
    await refreshCertification().catch(() => {});
  }
}

async function downloadReport(event) {
  // The API wants the token in a header, which a plain link cannot send: fetch, then save.
  event.preventDefault();
  const link = event.currentTarget;
  const headers = { Authorization: "Bearer " + token() };
  if (operator()) headers["X-Operator"] = operator();
  const response = await fetch(link.getAttribute("href"), { headers });
  if (response.status === 401) { showLogin("The token was refused."); return; }
  if (!response.ok) { $("#certify-result").className = "bad"; $("#certify-result").textContent = response.statusText; return; }
  const url = URL.createObjectURL(await response.blob());
  const save = el("a", { href: url, download: link.download });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- wiring -------------------------------------------------------------------------------

$("#login-form").addEventListener("submit", login);
$("#logout").addEventListener("click", () => showLogin(""));
$("#topup-form").addEventListener("submit", topup);
$("#iface-form").addEventListener("submit", saveHttpFronts);
$("#iface-account").addEventListener("change", () => loadHttpAccess().catch((err) => { $("#iface-result").textContent = err.message; }));
$("#iface-new-secret").addEventListener("click", newApiSecret);
$("#handset-form").addEventListener("submit", (e) => showHandset(e).catch((err) => { $("#handset-summary").textContent = err.message; }));
$("#search-form").addEventListener("submit", (e) => search(e).catch((err) => { $("#history-hint").textContent = err.message; }));
$("#certify-form").addEventListener("submit", startCertification);
for (const link of document.querySelectorAll("#certification-downloads a")) link.addEventListener("click", (e) => downloadReport(e).catch((err) => { $("#certify-result").textContent = err.message; }));
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
window.addEventListener("resize", () => state.view === "overview" && tick(true));
if (token()) start(); else showLogin("");
