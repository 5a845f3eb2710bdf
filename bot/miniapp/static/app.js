// Liquidity Bot Mini App. No third-party script: Telegram passes the signed initData in the URL
// fragment (#tgWebAppData=...); every request sends it as "Authorization: tma <initData>".
// The DOM is built with textContent only: no value from the server is ever parsed as HTML.
"use strict";

const KEY = "liquidity-initdata";
let T = {};   // the page's words, from the server, in the chat's language

function initData() {
  const hash = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData");
  if (hash) { sessionStorage.setItem(KEY, hash); return hash; }   // a reload may lose the fragment
  return sessionStorage.getItem(KEY) || "";
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function say(text) { document.getElementById("status").textContent = text || ""; }

async function call(path, body) {
  const opts = { headers: { "Authorization": "tma " + initData() } };
  if (body) { opts.method = "POST"; opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch("api/" + path, opts);   // relative: the page may sit under a path prefix
  if (resp.status === 401) {
    throw new Error(initData() ? (T.expired || "This session has expired. Close the page and send /dashboard again.")
                               : (T.open_in_telegram || "Open this page from Telegram: send /dashboard to the bot in a private chat."));
  }
  if (resp.status === 429) throw new Error(T.slow_down || "Too many requests: wait a few seconds and try again.");
  const data = await resp.json();
  if (!resp.ok) throw new Error((T.failed || "Failed.") + (data.detail ? " (" + data.detail + ")" : ""));
  return data;
}

async function change(action, body) {
  try {
    const data = await call(action, body);
    render(data.state);
    say(data.message);
  } catch (err) { say(err.message); }
}

function select(name, options) {
  const s = el("select"); s.name = name;
  for (const [value, label] of options) { const o = el("option", label); o.value = value; s.append(o); }
  return s;
}

function input(name, placeholder, value) {
  const i = el("input"); i.name = name; i.placeholder = placeholder || ""; i.value = value || "";
  i.setAttribute("aria-label", placeholder || name);
  return i;
}

function form(parts, label, onsubmit) {
  const f = el("form"); f.append(...parts, el("button", label));
  f.addEventListener("submit", (ev) => { ev.preventDefault(); onsubmit(new FormData(f)); });
  return f;
}

function button(label, onclick, cls) {
  const b = el("button", label, cls || "plain"); b.type = "button"; b.addEventListener("click", onclick);
  return b;
}

function alertsSection(s) {
  const list = el("ul");
  if (!s.alerts.length) list.append(el("li", T.no_alerts, "muted"));
  for (const a of s.alerts) {
    const li = el("li");
    const what = el("span", "#" + a.number + " " + a.title + (a["for"] > 1 ? " (×" + a["for"] + ")" : "") + ": ");
    what.append(el("span", a.firing ? T.firing : T.watching, a.firing ? "firing" : "muted"));
    li.append(what, button(T["delete"], () => change("alert_delete", { number: String(a.number) })));
    list.append(li);
  }
  const add = form([select("metric", s.metrics.map((m) => [m.id, m.label])), select("op", s.ops.map((o) => [o, o])),
                    input("value", T.value_hint), input("for", T.prints, "1")], T.add_alert,
                   (d) => change("alert_add", { metric: d.get("metric"), op: d.get("op"), value: d.get("value"), "for": d.get("for") }));
  return [el("h2", T.alerts), list, add];
}

function mutesSection(s) {
  const list = el("ul");
  if (!s.mutes.length) list.append(el("li", T.no_mutes, "muted"));
  for (const m of s.mutes) {
    const li = el("li", m.title + " (" + (m.until_resolved ? T.until_resolved : (m.until || "").replace("T", " ") + " UTC") + ")");
    if (m.target) li.append(button(T.unmute, () => change("unmute", { target: m.target })));
    list.append(li);
  }
  const targets = s.topics.map((t) => [t, t]).concat(s.alerts.map((a) => ["#" + a.number, "#" + a.number + " " + a.title]));
  const hows = [["12h", T.for_12h], ["7d", T.for_7d], ["resolved", T.until_resolved]];
  const add = form([select("target", targets), select("how", hows)], T.mute,
                   (d) => change("mute", { target: d.get("target"), how: d.get("how") }));
  return [el("h2", T.mutes), list, add];
}

function settingSection(title, action, current, hint) {
  const now = el("p", current || T.none, current ? "" : "muted");
  const set = form([input("spec", hint, current)], T.save, (d) => change(action, { spec: d.get("spec") }));
  set.append(button(T.off, () => change(action, { spec: "off" })));
  return [el("h2", title), now, set];
}

function languageSection(s) {
  const choose = select("lang", Object.entries(s.languages));
  choose.value = s.lang;
  return [el("h2", T.language), form([choose], T.save, (d) => change("lang", { lang: d.get("lang") }))];
}

function render(s) {
  T = s.text;
  document.documentElement.lang = s.lang === "zh" ? "zh-Hans" : "en";
  document.title = T.title;
  const app = document.getElementById("app");
  const status = document.getElementById("status");
  app.replaceChildren(el("h1", T.title), status, ...alertsSection(s), ...mutesSection(s),
                      ...settingSection(T.quiet, "quiet", s.quiet, T.quiet_hint),
                      ...settingSection(T.digest, "digest", s.digest, T.digest_hint), ...languageSection(s));
}

// Telegram's colours, passed in the fragment as tgWebAppThemeParams; only #rrggbb values are taken.
function theme() {
  let params = {};
  try { params = JSON.parse(new URLSearchParams(location.hash.slice(1)).get("tgWebAppThemeParams") || "{}"); } catch (e) { return; }
  const map = { bg_color: "--bg", text_color: "--fg", hint_color: "--muted", button_color: "--accent" };
  for (const [key, prop] of Object.entries(map)) {
    if (/^#[0-9a-f]{6}$/i.test(String(params[key] || ""))) document.documentElement.style.setProperty(prop, params[key]);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  theme();
  try { render(await call("state")); say(""); } catch (err) { say(err.message); }
});
