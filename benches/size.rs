//! The wasm's size, whole (gzip, as deployed) and by crate: twiggy's per-item sizes of the
//! shipped `.wasm`'s copy with its name section (`target/build-named.wasm`; the shipped one has
//! none) summed by the crate each item's name starts with, the name section itself left out, so
//! that growth shows where it comes from. Needs `twiggy` on PATH (`scripts/bench.sh`
//! installs the pinned version when missing).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Crates shown by name; the rest are summed in one line.
const SHOWN: usize = 15;

pub fn gzip_size(path: &Path) -> usize {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .expect("gzip runs");
    assert!(out.status.success(), "gzip {}", path.display());
    out.stdout.len()
}

/// Where an item's bytes are counted: the crate its (demangled) name starts with, or what kind
/// of wasm item it is when it has no path.
fn owner(name: &str) -> String {
    let path = name.trim_start_matches(['<', '&', '*']);
    let path = ["mut ", "dyn ", "const "]
        .iter()
        .fold(path, |p, prefix| p.strip_prefix(prefix).unwrap_or(p));
    // `<f64 as core::fmt::Display>::fmt`, `<T as alloc::string::ToString>::to_string`: a type
    // without a path of its own is counted with its trait's crate.
    let path = match path.split_once(" as ") {
        Some((ty, the_trait)) if !ty.contains("::") => the_trait,
        _ => path,
    };
    if let Some((head, _)) = path.split_once("::") {
        // The standard library comes precompiled, its crates named with their hash:
        // `core[c5930c85a12de822]::str::slice_error_fail`.
        let head = head.split_once('[').map_or(head, |(name, _)| name);
        if !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return match head {
                // `__rustc`: the allocator's entry points the standard library links in.
                "core" | "alloc" | "std" | "__rustc" => "std (core, alloc, std)".into(),
                other => other.into(),
            };
        }
    }
    if name.starts_with("data[") || name.starts_with("data segment") {
        "(data segments: strings, tables)".into()
    } else if name.starts_with("code[") {
        "(unnamed functions)".into()
    } else if name.starts_with('"') || name.starts_with("custom section") {
        "(name and custom sections)".into()
    } else {
        "(no path: runtime glue, imports, exports, types)".into()
    }
}

/// The gzip size of `wasm` and a table of its raw bytes by crate, from `named`, the same wasm
/// with function names.
pub fn by_crate(wasm: &Path, named: &Path) -> String {
    let out = Command::new("twiggy")
        .args(["top", "--format", "json", "-n", "1000000"])
        .arg(named)
        .output()
        .expect("twiggy runs (scripts/bench.sh installs it)");
    assert!(
        out.status.success(),
        "twiggy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("twiggy's JSON");
    let mut by_owner: BTreeMap<String, u64> = BTreeMap::new();
    for item in &items {
        let name = item["name"].as_str().unwrap_or_default();
        let size = item["shallow_size"].as_u64().unwrap_or_default();
        if name.ends_with("names\" subsection") {
            continue; // The name section: not shipped.
        }
        *by_owner.entry(owner(name)).or_default() += size;
    }
    let total: u64 = by_owner.values().sum();
    let mut owners: Vec<(String, u64)> = by_owner.into_iter().collect();
    owners.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let gzip = gzip_size(wasm);
    let mut table = format!(
        "wasm: {:.0} KiB gzip ({} bytes), {:.0} KiB raw; by crate (raw bytes before gzip, from twiggy):\n\n\
         | crate or section | KiB | share |\n|---|---|---|\n",
        gzip as f64 / 1024.0,
        gzip,
        total as f64 / 1024.0
    );
    let share = |bytes: u64| 100.0 * bytes as f64 / total as f64;
    for (owner, bytes) in owners.iter().take(SHOWN) {
        let _ = writeln!(
            table,
            "| {owner} | {:.1} | {:.1}% |",
            *bytes as f64 / 1024.0,
            share(*bytes)
        );
    }
    let rest: u64 = owners.iter().skip(SHOWN).map(|(_, b)| b).sum();
    if rest > 0 {
        let _ = writeln!(
            table,
            "| {} others | {:.1} | {:.1}% |",
            owners.len() - SHOWN,
            rest as f64 / 1024.0,
            share(rest)
        );
    }
    table
}
