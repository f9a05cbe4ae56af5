// Drops a wasm module's name section (function names, kept by worker-build's `--debuginfo`), and
// the producers and target features sections, by
// copying every other section's bytes as they are. Re-writing the module with wasm-opt instead
// (`--strip-debug`) re-encodes all the code without the stack-IR optimisations of the optimising
// run, and the worker's wasm came out 1.8 KB (gzip) larger.
//
//   node scripts/strip-wasm-names.mjs WASM [NAMED]   NAMED, if given, gets a copy with the names
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const [wasmPath, namedPath] = process.argv.slice(2);
if (!wasmPath) {
  console.error("usage: node scripts/strip-wasm-names.mjs WASM [NAMED]");
  process.exit(2);
}

/** Reads an unsigned LEB128 at `at`: [value, the offset after it]. */
function uleb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

// Custom sections nothing reads at run time: the function names, the toolchain's versions and
// the target features the code was compiled for.
const DROPPED = ["name", "producers", "target_features"];

const wasm = readFileSync(wasmPath);
if (wasm.readUInt32BE(0) !== 0x0061736d) {
  console.error(`${wasmPath}: not a wasm module`);
  process.exit(1);
}
const kept = [wasm.subarray(0, 8)];
let at = 8;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at];
  const [size, body] = uleb(wasm, at + 1);
  at = body + size;
  if (id === 0) {
    const [nameLength, name] = uleb(wasm, body);
    if (DROPPED.includes(wasm.toString("latin1", name, name + nameLength))) continue;
  }
  kept.push(wasm.subarray(start, at));
}
if (at !== wasm.length) {
  console.error(`${wasmPath}: a section runs past the end of the file`);
  process.exit(1);
}
if (namedPath) {
  mkdirSync(dirname(namedPath), { recursive: true });
  copyFileSync(wasmPath, namedPath);
}
writeFileSync(wasmPath, Buffer.concat(kept));
