// Writes the two configurations a production deployment uses, generated from wrangler.toml so
// that the workers cannot drift apart (the same bindings, the same [vars] in every environment):
//
// - build-front/wrangler.toml, the customer worker: minus what only the full worker runs (the
//   cron trigger, the queue consumers, the static assets), plus the service binding FULL to the
//   full worker, which answers every other path;
// - build-back/wrangler.toml, the full worker as deployed behind it: wrangler.toml itself, built
//   without the customer routes (`build-worker.sh --back-office`).
//
//   node scripts/worker-configs.mjs front|back   (build-worker.sh --front / --back-office runs it)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FULL = "shipment-tracker";
const FRONT = "shipment-tracker-front";

// The full worker's alone: its schedule, the queues it consumes and its static assets (the
// contract).
const fullOnly = new Set([
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

/** `key = "value"` lines rewritten where a generated configuration differs. */
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

// Both are read from their build folder: paths into the project go one level up.
const moved = (flag) => [
  ['main = "build/index.js"', 'main = "index.js"'],
  // wrangler runs the build command where it was started, the project's root.
  ['command = "bash scripts/build-worker.sh"', `command = "bash scripts/build-worker.sh ${flag}"`],
  ['watch_dir = ["src", "crates"]', 'watch_dir = ["../src", "../crates"]'],
  ['migrations_dir = "migrations"', 'migrations_dir = "../migrations"'],
];

/** wrangler.toml less the tables in `dropped`, with `changes` made (each must happen). */
function derived(text, dropped, changes) {
  const seen = new Set();
  const parts = tables(text)
    .filter((t) => !dropped.has(t.header))
    .map((t) => rewrite(t.lines, changes, seen).join("\n"));
  const missing = changes.filter(([from]) => !seen.has(from)).map(([from]) => from);
  if (missing.length) throw new Error(`wrangler.toml changed shape: no line ${missing.join(", ")}`);
  return [
    "# Generated from wrangler.toml by scripts/worker-configs.mjs: edit that file, not this one.",
    parts.join("\n").trimEnd(),
    "",
  ];
}

function frontConfig(text) {
  const binding = (prefix) =>
    `[[${prefix}services]]\n# Every path the customer worker does not answer goes to the full worker.\n` +
    `binding = "FULL"\nservice = "${FULL}"\n`;
  return [
    ...derived(text, fullOnly, [[`name = "${FULL}"`, `name = "${FRONT}"`], ...moved("--front")]),
    binding(""),
    binding("env.production."),
  ].join("\n");
}

function backConfig(text) {
  return derived(text, new Set(), [
    ...moved("--back-office"),
    ['directory = "openapi/served"', 'directory = "../openapi/served"'],
  ]).join("\n");
}

const [folder, make] = { front: ["build-front", frontConfig], back: ["build-back", backConfig] }[
  process.argv[2]
] ?? [];
if (!make) throw new Error("usage: node scripts/worker-configs.mjs front|back");
const config = make(readFileSync(join(root, "wrangler.toml"), "utf8"));
const path = join(root, folder, "wrangler.toml");
// Written only when it changes: `wrangler dev` runs the build (and so this) whenever the
// configuration it watches changes.
if (!existsSync(path) || readFileSync(path, "utf8") !== config) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, config);
}
