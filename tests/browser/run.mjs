// The browser half of tests/browser.rs: drives the distribution's Chromium with puppeteer-core
// through every state of the tracking page in English and Hindi, the refresh control with and
// without JavaScript, and the widget on two storefronts (one allowed, one not); runs axe-core
// (WCAG 2.2 A/AA) in light and dark mode; writes a screenshot of each state. Prints what it
// checked and exits non-zero listing every failure.
//
//   node tests/browser/run.mjs <config.json>   (tests/browser.rs writes the config)
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const root = new URL("../../", import.meta.url).pathname;
const catalogues = {
  en: JSON.parse(readFileSync(join(root, "web/i18n/en.json"), "utf8")),
  hi: JSON.parse(readFileSync(join(root, "web/i18n/hi.json"), "utf8")),
};
const axeSource = readFileSync(join(root, "node_modules/axe-core/axe.min.js"), "utf8");
const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const MAX_BYTES = 30 * 1024;

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
};
// The part of a catalogue text before its first placeholder: what a page shows verbatim.
const fixed = (lang, key) => catalogues[lang][key].split("{")[0].trim();

const profile = mkdtempSync(join(tmpdir(), "shipment-tracker-chromium-"));
const browser = await puppeteer.launch({
  executablePath: config.chrome,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", `--user-data-dir=${profile}`,
  ],
});

/// A fresh page that records every request's origin and every CSP complaint.
async function watchedPage() {
  const page = await browser.newPage();
  const seen = { origins: new Set(), console: [] };
  page.on("request", (r) => { if (!r.url().startsWith("data:")) seen.origins.add(new URL(r.url()).origin); });
  page.on("console", (m) => seen.console.push(m.text()));
  return { page, seen };
}

async function axe(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  for (const scheme of ["light", "dark"]) {
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
    const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }), WCAG);
    const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    check(violations.length === 0, `${what}: no axe violations (${scheme})${violations.length ? ` — ${violations.join("; ")}` : ""}`);
  }
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
}

async function setFault(on) {
  const url = on ? `${config.sim}/__control/faults/tracking` : `${config.sim}/__control/faults`;
  const answer = await fetch(url, on ? { method: "PUT", body: JSON.stringify({ mode: "status", code: 503 }) } : { method: "DELETE" });
  if (!answer.ok) throw new Error(`simulator control ${url}: ${answer.status}`);
}

try {
  // The refresh control first, while Blue Dart answers.
  {
    const { page } = await watchedPage();
    await page.goto(config.worker + config.refresh.js + "&lang=en");
    check(await page.$eval(".source", (e) => e.textContent.startsWith("Last updated")), "refresh (JS): starts from the cache");
    const before = page.url();
    await page.click("#refresh");
    await page.waitForFunction((done) => document.getElementById("live").textContent === done, { timeout: 20000 }, catalogues.en["refresh.done"]);
    check(page.url() === before, "refresh (JS): done in place, no navigation");
    check(await page.$eval(".source", (e) => e.textContent === "Live from Blue Dart"), "refresh (JS): now live from Blue Dart");
    await page.close();
  }
  {
    const { page } = await watchedPage();
    await page.setJavaScriptEnabled(false);
    await page.goto(config.worker + config.refresh.noJs + "&lang=hi");
    await Promise.all([page.waitForNavigation(), page.click("#refresh")]);
    check(page.url().includes("forceRefresh=true"), "refresh (no JS): a plain link to a live refresh");
    check(await page.$eval(".source", (e, live) => e.textContent === live, catalogues.hi["source.live"]), "refresh (no JS): now live from Blue Dart, in Hindi");
    await page.close();
  }

  for (const [name, path, status, keys, down] of config.states) {
    await setFault(down);
    for (const lang of ["en", "hi"]) {
      const what = `${name} (${lang})`;
      const { page, seen } = await watchedPage();
      await page.setViewport({ width: 390, height: 844 });
      const answer = await page.goto(`${config.worker}${path}&lang=${lang}`);
      check(answer.status() === status, `${what}: HTTP ${answer.status()}, expected ${status}`);
      const bytes = (await answer.buffer()).length;
      check(bytes <= MAX_BYTES, `${what}: ${bytes} bytes ≤ ${MAX_BYTES}`);
      check(await page.evaluate(() => document.documentElement.lang) === lang, `${what}: lang="${lang}"`);
      const text = await page.evaluate(() => document.body.innerText);
      for (const key of keys) check(text.includes(fixed(lang, key)), `${what}: shows ${key} (“${fixed(lang, key)}”)`);
      const policy = answer.headers()["content-security-policy"] || "";
      check(policy.startsWith("default-src 'none'") && !policy.includes("unsafe-inline"), `${what}: strict CSP`);
      const cache = answer.headers()["cache-control"];
      const cachedAnswer = status === 200 && !down && name !== "no-waybill";
      check(cache === (cachedAnswer ? "private, max-age=30" : "no-store"), `${what}: Cache-Control ${cache}`);
      await page.screenshot({ path: join(config.out, `${name}-${lang}.png`), fullPage: true });
      await page.setViewport({ width: 320, height: 640 });
      check(await page.evaluate(() => document.documentElement.scrollWidth <= 320), `${what}: fits 320 px`);
      await axe(page, what);
      check([...seen.origins].every((o) => o === config.worker), `${what}: no third-party requests (${[...seen.origins].join(", ")})`);
      const refused = seen.console.filter((m) => m.includes("Content Security Policy"));
      check(refused.length === 0, `${what}: no CSP violations ${refused.join(" | ")}`);
      await page.close();
    }
  }
  await setFault(false);

  // The widget on a storefront whose origin is allowed: rendered, themed, labelled, accessible.
  {
    const { page, seen } = await watchedPage();
    await page.setViewport({ width: 390, height: 844 });
    await page.goto(config.widget.allowed);
    await page.waitForSelector("shipment-tracking[data-state=ready]", { timeout: 20000 });
    const widget = await page.$eval("shipment-tracking", (el) => ({
      text: el.shadowRoot.textContent,
      steps: el.shadowRoot.querySelectorAll(".stages li").length,
      current: el.shadowRoot.querySelector("[aria-current=step]")?.textContent,
      events: el.shadowRoot.querySelectorAll(".timeline li").length,
      accent: getComputedStyle(el.shadowRoot.querySelector(".button")).color,
    }));
    check(widget.steps === 4 && widget.current.startsWith(catalogues.en["status.out_for_delivery"]), `widget: the stage bar, at out for delivery (${widget.current})`);
    check(widget.events >= 3, `widget: the timeline (${widget.events} events)`);
    check(widget.text.includes(fixed("en", "source.cached")), "widget: says where the data came from");
    check(widget.accent === "rgb(139, 0, 0)", `widget: themed by the storefront's custom property (${widget.accent})`);
    await page.screenshot({ path: join(config.out, "widget-allowed.png"), fullPage: true });
    await axe(page, "widget (allowed origin)");
    // Hindi, by attribute, then a live refresh from the widget's own button.
    await page.$eval("shipment-tracking", (el) => el.setAttribute("lang", "hi"));
    await page.waitForFunction((t) => document.querySelector("shipment-tracking").shadowRoot.textContent.includes(t), {}, catalogues.hi["status.out_for_delivery"]);
    await page.evaluate(() => document.querySelector("shipment-tracking").shadowRoot.querySelector(".button").click());
    await page.waitForFunction((t) => document.querySelector("shipment-tracking").shadowRoot.textContent.includes(t), { timeout: 20000 }, catalogues.hi["source.live"]);
    check(true, "widget: Hindi, and its Refresh asks Blue Dart live");
    await page.screenshot({ path: join(config.out, "widget-allowed-hi.png"), fullPage: true });
    const origins = [...seen.origins].sort();
    check(origins.length === 2 && origins.includes(config.worker), `widget: only the storefront and the worker (${origins.join(", ")})`);
    await page.close();
  }
  // …and on one whose origin is not: the browser's preflight is refused (403) and the widget
  // says it could not load; the API refuses that origin outright.
  {
    const { page } = await watchedPage();
    const answered = [];
    page.on("response", (r) => { if (r.url().includes("/api/shipment/")) answered.push(`${r.request().method()} ${r.status()}`); });
    await page.goto(config.widget.refused);
    await page.waitForSelector("shipment-tracking[data-state=error]", { timeout: 20000 });
    const text = await page.$eval("shipment-tracking", (el) => el.shadowRoot.textContent);
    check(text.includes(catalogues.en["widget.failed"]), "widget elsewhere: says tracking could not be loaded");
    check(!answered.some((a) => a.endsWith(" 200")), `widget elsewhere: no tracking reached the page (${answered.join(", ") || "no answer seen"})`);
    await page.screenshot({ path: join(config.out, "widget-refused.png"), fullPage: true });
    await page.close();
    const url = `${config.worker}/api/shipment/ORD-2291/track`;
    const token = config.widget.token;
    for (const [method, headers] of [["OPTIONS", { "Access-Control-Request-Method": "GET" }], ["GET", { Authorization: `Bearer ${token}` }]]) {
      const answer = await fetch(url, { method, headers: { Origin: config.widget.refused, ...headers } });
      check(answer.status === 403 && !answer.headers.get("access-control-allow-origin"), `widget elsewhere: ${method} from ${config.widget.refused} answered ${answer.status} without CORS headers`);
    }
  }
} catch (error) {
  failures.push(`the run stopped: ${error.stack || error}`);
  console.log(`FAIL the run stopped: ${error.stack || error}`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(join(config.out, "failures.txt"), failures.join("\n"));
if (failures.length) {
  console.log(`\n${failures.length} failed:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("\nall browser checks passed");
