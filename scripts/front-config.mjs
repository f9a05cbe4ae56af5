// Writes build-front/wrangler.toml, the customer worker's configuration, from wrangler.toml, so
// that the two workers cannot drift apart: the same bindings, the same [vars] in every
// environment, minus what only the full worker runs (the cron trigger, the queue consumers),
// plus the service binding FULL to the full worker, which answers every other path.
//
//   node scripts/front-config.mjs        (build-worker.sh --front runs it)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FULL = "shipment-tracker";
const FRONT = "shipment-tracker-front";

// The full worker's alone: its schedule, the queues it consumes and its static assets (the
// contract).
const dropped = new Set([
  "[triggers]",
  "[assets]",
  "[env.production.triggers]",
  "[[queues.consumers]]",
  "[[env.production.queues.consumers]]",
]);

/** wrangler.toml cut into tables: the top-level keys first, then each table with its header. */
function tables(text) {
  const out = [{ header: "", lines: [] }];
  for (const line of text.split("\n")) {
    const header = line.trim();
    if (/^\[\[?[A-Za-z0-9_.]+\]\]?$/.test(header)) out.push({ header, lines: [] });
    out.at(-1).lines.push(line);
  }
  return out;
}

/** `key = "value"` lines rewritten where the front differs; every rewrite must happen. */
function rewrite(lines, changes, seen) {
  return lines.map((line) => {
    for (const [from, to] of changes) {
      if (line.trim() === from) {
        seen.add(from);
        return line.replace(from, to);
      }
    }
    return line;
  });
}

function frontConfig(text) {
  const changes = [
    [`name = "${FULL}"`, `name = "${FRONT}"`],
    ['main = "build/index.js"', 'main = "index.js"'],
    // wrangler runs the build command where it was started, the project's root.
    ['command = "bash scripts/build-worker.sh"', 'command = "bash scripts/build-worker.sh --front"'],
    ['watch_dir = ["src", "crates"]', 'watch_dir = ["../src", "../crates"]'],
    ['migrations_dir = "migrations"', 'migrations_dir = "../migrations"'],
  ];
  const seen = new Set();
  const parts = tables(text)
    .filter((t) => !dropped.has(t.header))
    .map((t) => rewrite(t.lines, changes, seen).join("\n"));
  const missing = changes.filter(([from]) => !seen.has(from)).map(([from]) => from);
  if (missing.length) throw new Error(`wrangler.toml changed shape: no line ${missing.join(", ")}`);
  const binding = (prefix) =>
    `[[${prefix}services]]\n# Every path the customer worker does not answer goes to the full worker.\n` +
    `binding = "FULL"\nservice = "${FULL}"\n`;
  return [
    "# Generated from wrangler.toml by scripts/front-config.mjs: edit that file, not this one.",
    parts.join("\n").trimEnd(),
    "",
    binding(""),
    binding("env.production."),
  ].join("\n");
}

const config = frontConfig(readFileSync(join(root, "wrangler.toml"), "utf8"));
const path = join(root, "build-front", "wrangler.toml");
// Written only when it changes: `wrangler dev` runs the build (and so this) whenever the
// configuration it watches changes.
if (!existsSync(path) || readFileSync(path, "utf8") !== config) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, config);
}
