// openapi/openapi.yaml is the contract; openapi/openapi.json is the same document as JSON, checked
// in for what reads JSON (the end-to-end tests' response validator, Schemathesis), and
// openapi/served/openapi.json the same again without whitespace (a third smaller), which the
// full worker serves at GET /openapi.json from its static assets (wrangler.toml's [assets]).
// This script writes both; with --check it only says whether they are up to date (npm test
// runs that), and exits 1 if not.
//
//   node scripts/openapi-json.mjs            write openapi/openapi.json and served/openapi.json
//   node scripts/openapi-json.mjs --check    fail if either differs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "openapi", "openapi.yaml");

// The YAML 1.2 core schema: no timestamps or other YAML 1.1 types, so every value becomes the
// JSON value it reads as (a date stays a string).
const doc = yaml.load(readFileSync(source, "utf8"), {
  filename: source,
  schema: yaml.CORE_SCHEMA,
});
const outputs = {
  "openapi.json": JSON.stringify(doc, null, 2) + "\n",
  "served/openapi.json": JSON.stringify(doc),
};

const check = process.argv.includes("--check");
let stale = false;
for (const [name, text] of Object.entries(outputs)) {
  const target = join(root, "openapi", name);
  if (!check) {
    writeFileSync(target, text);
    console.log(`wrote openapi/${name}`);
    continue;
  }
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // Missing: not up to date.
  }
  if (current !== text) {
    console.error(
      `openapi/${name} is not up to date with openapi/openapi.yaml: run \`node scripts/openapi-json.mjs\` and commit it`,
    );
    stale = true;
  } else {
    console.log(`openapi/${name} is up to date with openapi/openapi.yaml`);
  }
}
if (stale) process.exit(1);
