// <shipment-tracking order-id="…" token="…"> — the embeddable tracking widget. Served by the
// worker at /widget.js, wrapped with CSS (web/page.css) and I18N (web/i18n/*.json). No
// dependencies, no build step: a storefront on an allowed origin adds one script tag. It reads
// the JSON track API with the storefront's customer token (CORS), and renders the stage bar,
// the timeline and where the data came from, in its own Shadow DOM.
// Attributes: order-id, token (required); lang ("en" or "hi"; default: the page's); base (the
// worker's origin; default: where this script came from).
const SCRIPT_BASE = document.currentScript ? new URL(document.currentScript.src).origin : "";

const ROADS = {
  pending: [["info_received", "in_transit", "out_for_delivery", "delivered"], 0],
  info_received: [["info_received", "in_transit", "out_for_delivery", "delivered"], 0],
  in_transit: [["info_received", "in_transit", "out_for_delivery", "delivered"], 1],
  exception: [["info_received", "exception", "out_for_delivery", "delivered"], 1],
  out_for_delivery: [["info_received", "in_transit", "out_for_delivery", "delivered"], 2],
  failed_attempt: [["info_received", "in_transit", "failed_attempt", "delivered"], 2],
  delivered: [["info_received", "in_transit", "out_for_delivery", "delivered"], 3],
  returning: [["info_received", "in_transit", "returning", "returned"], 2],
  returned: [["info_received", "in_transit", "returning", "returned"], 3],
  lost: [["info_received", "in_transit", "lost"], 2],
};
const TONES = { delivered: "good", failed_attempt: "warn", exception: "warn", returning: "warn", returned: "warn", lost: "bad" };
const IST_MS = 330 * 60000;

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

class ShipmentTracking extends HTMLElement {
  static get observedAttributes() { return ["order-id", "token", "lang"]; }

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
  }

  connectedCallback() { this.load(false); }
  attributeChangedCallback() { if (this.isConnected) this.load(false); }

  get text() {
    const wanted = (this.getAttribute("lang") || (this.closest("[lang]") || document.documentElement).lang || "en").slice(0, 2).toLowerCase();
    return I18N[wanted] ? { lang: wanted, t: I18N[wanted] } : { lang: "en", t: I18N.en };
  }

  fill(key, values) {
    return Object.entries(values || {}).reduce((s, [k, v]) => s.split(`{${k}}`).join(v), this.text.t[key] || key);
  }

  date(iso, withTime) {
    const d = new Date(Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso) + (withTime ? IST_MS : 0));
    const t = this.text.t;
    const day = `${d.getUTCDate()} ${t[`month.${d.getUTCMonth() + 1}`]} ${d.getUTCFullYear()}`;
    if (!withTime) return day;
    const h = d.getUTCHours();
    const m = String(d.getUTCMinutes()).padStart(2, "0");
    return `${day}, ${h % 12 || 12}:${m} ${t[h < 12 ? "time.am" : "time.pm"]}`;
  }

  ago(iso) {
    const minutes = Math.floor((Date.now() - Date.parse(iso)) / 60000);
    if (minutes < 1) return this.text.t["ago.now"];
    const [unit, n] = minutes < 60 ? ["minute", minutes] : minutes < 1440 ? ["hour", Math.floor(minutes / 60)] : ["day", Math.floor(minutes / 1440)];
    return this.fill(`ago.${unit}.${n === 1 ? "one" : "other"}`, { n });
  }

  show(state, inner) {
    this.dataset.state = state;
    this.root.innerHTML = `<style>${CSS}</style><section class="st" lang="${this.text.lang}">${inner}<p class="sr" role="status">${escapeHtml(this.announce || "")}</p></section>`;
    const button = this.root.querySelector("button");
    if (button) button.addEventListener("click", () => this.load(true));
  }

  problem(key, retry) {
    const t = this.text.t;
    this.show(`problem-${key}`, `<p class="status">${escapeHtml(t[`problem.${key}.title`])}</p><p>${escapeHtml(t[`problem.${key}.body`])}</p>${retry ? this.refreshButton() : ""}`);
  }

  refreshButton() {
    return `<button type="button" class="button">${escapeHtml(this.text.t["refresh.action"])}</button>`;
  }

  async load(refresh) {
    const id = this.getAttribute("order-id");
    const token = this.getAttribute("token");
    const t = this.text.t;
    if (!id || !token) return this.problem("missing", false);
    const base = this.getAttribute("base") || SCRIPT_BASE;
    this.announce = refresh ? t["refresh.busy"] : "";
    if (!refresh) this.show("loading", `<p>${escapeHtml(t["widget.loading"])}</p>`);
    else {
      const button = this.root.querySelector("button");
      if (button) { button.disabled = true; button.textContent = t["refresh.busy"]; }
    }
    let answer, body;
    try {
      answer = await fetch(`${base}/api/shipment/${encodeURIComponent(id)}/track${refresh ? "?forceRefresh=true" : ""}`, {
        headers: { Authorization: `Bearer ${token}` },
        mode: "cors",
        credentials: "omit",
      });
      body = await answer.json();
    } catch {
      this.announce = "";
      return this.show("error", `<p class="notice">${escapeHtml(t["widget.failed"])}</p>`);
    }
    this.announce = refresh ? t["refresh.done"] : "";
    if (answer.status === 404) return this.problem("not_found", false);
    if (answer.status === 401) return this.problem(/expired/i.test(body.message || "") ? "expired" : "invalid", false);
    if (!answer.ok) return this.problem("busy", true);
    if (body.code === "NO_AWB") return this.problem("no_awb", false);
    if (!body.tracking && !body.dataSource.isLive) return this.problem("unavailable", true);
    this.render(body);
  }

  render(body) {
    const t = this.text.t;
    const e = (key) => escapeHtml(t[key] || key);
    let html = "";
    const latest = body.tracking;
    if (latest) {
      const code = latest.statusCode;
      const [road, at] = ROADS[code] || ROADS.pending;
      html += `<p class="status tone-${TONES[code] || "normal"}"><span class="sr">${e("status.current")}: </span>${e(`status.${code}`)}</p>`;
      html += `<ol class="stages" aria-label="${e("stages.label")}">${road.map((name, i) => {
        const step = i < at ? "done" : i === at ? "current" : "todo";
        const extra = step === "current" ? ` tone-${TONES[name] || "normal"}" aria-current="step` : "";
        return `<li class="${step}${extra}"><span class="dot"></span>${e(`status.${name}`)}<span class="sr"> (${e(`stage.${step}`)})</span></li>`;
      }).join("")}</ol>`;
      if (code === "delivered") html += `<p>${e("delivered.on")}: <strong>${escapeHtml(this.date(latest.eventDate, true))}</strong></p>`;
      else if (body.expectedDeliveryDate && !["returning", "returned", "lost"].includes(code)) html += `<p>${e("expected.label")}: <strong>${escapeHtml(this.date(body.expectedDeliveryDate, false))}</strong></p>`;
    }
    const synced = latest && latest.lastSyncedAt;
    const label = body.dataSource.isLive ? t["source.live"] : synced ? this.fill("source.cached", { ago: this.ago(synced) }) : t["source.never"];
    html += `<p class="source">${escapeHtml(label)}</p>`;
    const notice = body.bluedartError ? t["notice.failed"]
      : body.retryAfterSeconds != null ? this.fill("notice.limited", { seconds: body.retryAfterSeconds })
      : body.noUpdateSince ? this.fill("notice.no_update", { date: this.date(body.noUpdateSince, true) })
      : !latest ? t["notice.carrier_nothing"] : "";
    if (notice) html += `<p class="notice">${escapeHtml(notice)}</p>`;
    html += this.refreshButton();
    html += `<h2>${e("timeline.heading")}</h2>`;
    html += body.events.length === 0 ? `<p>${e("timeline.empty")}</p>` : `<ol class="timeline">${body.events.map((ev) => {
      const place = [ev.location.city, ev.location.state].filter(Boolean).join(", ");
      return `<li><p class="ev-status">${e(`status.${ev.statusCode}`)}</p><p class="ev-desc">${escapeHtml(ev.description)}</p><p class="ev-meta"><time datetime="${escapeHtml(ev.eventDate)}">${escapeHtml(this.date(ev.eventDate, true))}</time>${place ? ` · ${escapeHtml(place)}` : ""}</p></li>`;
    }).join("")}</ol>`;
    this.show("ready", html);
  }
}

if (!customElements.get("shipment-tracking")) customElements.define("shipment-tracking", ShipmentTracking);
