// openapi/openapi.yaml is the contract; openapi/openapi.json is the same document as JSON, checked
// in for what reads JSON (the end-to-end tests' response validator, Schemathesis, the worker's
// GET /openapi.json). This script writes it; with --check it only says whether it is up to date
// (npm test runs that), and exits 1 if not.
//
//   node scripts/openapi-json.mjs            write openapi/openapi.json
//   node scripts/openapi-json.mjs --check    fail if openapi/openapi.json differs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "openapi", "openapi.yaml");
const target = join(root, "openapi", "openapi.json");

// The YAML 1.2 core schema: no timestamps or other YAML 1.1 types, so every value becomes the
// JSON value it reads as (a date stays a string).
const doc = yaml.load(readFileSync(source, "utf8"), {
  filename: source,
  schema: yaml.CORE_SCHEMA,
});
const json = JSON.stringify(doc, null, 2) + "\n";

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // Missing: not up to date.
  }
  if (current !== json) {
    console.error(
      "openapi/openapi.json is not up to date with openapi/openapi.yaml: run `node scripts/openapi-json.mjs` and commit both",
    );
    process.exit(1);
  }
  console.log("openapi/openapi.json is up to date with openapi/openapi.yaml");
} else {
  writeFileSync(target, json);
  console.log("wrote openapi/openapi.json");
}
