//! Every answer the end-to-end suites get through `TestWorker::request` is checked against the
//! contract, `openapi/openapi.json` (generated from `openapi/openapi.yaml`; `npm test` checks
//! that the two agree), so that the contract cannot drift from the worker. A mismatch panics,
//! which fails the test, with the request, the answer and every reason.
//!
//! The rules, in order:
//!
//! 1. **`/__scheduled`** is not checked: it is wrangler's `--test-scheduled` hook that fires
//!    the cron handler, answered by wrangler (plain text), not by the worker's routes, and it
//!    does not exist in production. Nor is **`/__store-contract`**, served only by the test
//!    build `tests/store_contract.rs` runs (the storage contract against D1). These are the only
//!    requests not checked.
//! 2. **A path the contract does not have** (`/`, `/api/shipment/ORD-1`, …) must be answered
//!    `404` with code `NOT_FOUND`, as an `Error`.
//! 3. **A path the contract has, with a method it does not document for it** must be answered
//!    `405` with code `METHOD_NOT_ALLOWED`, as an `Error`, and an `Allow` header naming exactly
//!    the methods the contract documents for that path.
//! 4. **A path of an operation the worker does not serve yet** ([`NOT_SERVED_YET`]) may answer
//!    `404 NOT_FOUND` (rule 2) to any method; any other answer is checked as in rules 3 and 5.
//!    `tests/conformance.rs` fails as soon as the worker serves one, so that it is taken off
//!    the list.
//! 5. **An operation of the contract**: the status must be one the operation documents (there
//!    are no `default` responses); the content type must be one of that response's media types
//!    (compared without parameters such as `charset`), or absent, with an empty body, when the
//!    response documents no content (`204`); the body (parsed if JSON, else as a string) must
//!    be valid against that media type's schema (JSON Schema 2020-12, formats such as `date-time` asserted); and each header the
//!    response documents must be present if `required`, and valid against its schema if present.
//!
//! Path templates match segment by segment, a `{parameter}` matching any one segment, empty or
//! malformed ones included, as the worker routes: a malformed order id reaches its operation,
//! which documents the `400 INVALID_ORDER_ID` it answers. Answers to `HEAD` carry no body; only
//! their status and headers are checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

use super::Answer;

/// Operations the contract describes that the worker does not serve yet, by operationId, method
/// and path: they answer 404 `NOT_FOUND` until they are wired (see rule 4 above). None now.
pub const NOT_SERVED_YET: &[(&str, &str, &str)] = &[];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The contract, and the validators compiled from it so far (by JSON pointer).
struct Contract {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let path = super::root().join("openapi/openapi.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
        Contract {
            doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path:?}: {e}")),
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// `~` and `/` escaped for a JSON pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment: `{`, `}` and other characters a fragment may not hold,
/// percent-encoded.
fn fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Contract {
    /// The value at `pointer`, following a local `$ref` there (components are referenced), with
    /// the pointer it was finally found at.
    fn resolve(&self, pointer: String) -> (String, &Value) {
        let mut pointer = pointer;
        loop {
            let value = self
                .doc
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("openapi.json has nothing at {pointer}"));
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => {
                    pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("only local references: {target}"))
                        .to_owned();
                }
                None => return (pointer, value),
            }
        }
    }

    /// A validator for the schema at `pointer`, resolved within the whole document.
    fn validator(&self, pointer: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        // The whole document as the root resource, so that `#/components/...` references
        // resolve; its own keys (`openapi`, `paths`, …) are not schema keywords and are ignored.
        let mut root = self.doc.clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["$ref"] = json!(format!("#{}", fragment(pointer)));
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        validator
    }

    /// Problems of `instance` against the schema at `pointer`, one line each.
    fn problems(&self, pointer: &str, instance: &Value) -> Vec<String> {
        self.validator(pointer)
            .iter_errors(instance)
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .collect()
    }

    /// The contract's path template matching `path`, if any.
    fn template(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        let paths = self.doc["paths"]
            .as_object()
            .expect("openapi.json has paths");
        paths.keys().map(String::as_str).find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| (p.starts_with('{') && p.ends_with('}')) || p == s)
        })
    }
}

fn media_type(answer: &Answer) -> Option<String> {
    answer.header("content-type").map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// The body as JSON, or why it is not.
fn json_body(answer: &Answer) -> Result<Value, String> {
    serde_json::from_str(&answer.body).map_err(|e| format!("the body is not JSON ({e})"))
}

/// Problems of an answer that must be the `Error` schema with `code`.
fn error_problems(c: &Contract, answer: &Answer, status: u16, code: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if answer.status != status {
        problems.push(format!("expected status {status} {code}"));
    }
    if media_type(answer).as_deref() != Some("application/json") {
        problems.push(format!(
            "content type {:?}, expected application/json",
            answer.header("content-type")
        ));
    }
    match json_body(answer) {
        Ok(body) => {
            problems.extend(c.problems("/components/schemas/Error", &body));
            if body["code"] != code {
                problems.push(format!("code {}, expected {code}", body["code"]));
            }
        }
        Err(e) => problems.push(e),
    }
    problems
}

/// Problems of an answer to a documented operation (rule 5).
fn operation_problems(c: &Contract, op: &str, method: &str, answer: &Answer) -> Vec<String> {
    let status = answer.status.to_string();
    let responses = format!("{op}/responses");
    let documented: Vec<&String> = c
        .doc
        .pointer(&responses)
        .and_then(Value::as_object)
        .map_or(Vec::new(), |r| r.keys().collect());
    if !documented.contains(&&status) {
        return vec![format!(
            "status {status} is not documented for this operation (documented: {})",
            documented
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )];
    }
    let (response_ptr, response) = c.resolve(format!("{responses}/{status}"));
    let mut problems = Vec::new();

    // Headers.
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        for name in headers.keys() {
            let (header_ptr, header) =
                c.resolve(format!("{response_ptr}/headers/{}", escape(name)));
            match answer.header(name) {
                None if header["required"] == true => {
                    problems.push(format!("the required header {name} is missing"));
                }
                None => {}
                Some(value) => {
                    let value = if header["schema"]["type"] == "integer" {
                        value
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or(json!(value))
                    } else {
                        json!(value)
                    };
                    problems.extend(
                        c.problems(&format!("{header_ptr}/schema"), &value)
                            .into_iter()
                            .map(|p| format!("header {name}: {p}")),
                    );
                }
            }
        }
    }

    // Content type and body.
    let content = response.get("content").and_then(Value::as_object);
    let media = media_type(answer);
    match (content, media) {
        (None, None) => {
            if !answer.body.is_empty() {
                problems.push("a body where the contract documents none".into());
            }
        }
        (None, Some(media)) => problems.push(format!(
            "content type {media} where the contract documents no content"
        )),
        (Some(content), media) => {
            let media = media.unwrap_or_default();
            if !content.contains_key(&media) {
                problems.push(format!(
                    "content type {media:?} is not documented (documented: {})",
                    content.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            } else if method != "head" {
                let schema = format!("{response_ptr}/content/{}/schema", escape(&media));
                // JSON answers are checked as what they parse to; others (the tracking page's
                // HTML, the widget's script) as the text they are.
                let body = if media == "application/json" {
                    json_body(answer)
                } else {
                    Ok(Value::String(answer.body.clone()))
                };
                match body {
                    Ok(body) => problems.extend(c.problems(&schema, &body)),
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    problems
}

/// The `operationId`s of the contract's operations, by method (upper case) and path template.
pub fn operations() -> Vec<(String, String, String)> {
    let c = contract();
    let mut out = Vec::new();
    for (template, item) in c.doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(id) = item[*method]["operationId"].as_str() {
                out.push((id.to_owned(), method.to_ascii_uppercase(), template.clone()));
            }
        }
    }
    out
}

/// The `operationId` of the operation `method path` (a path with or without its query) is.
pub fn operation_id(method: &str, path: &str) -> Option<String> {
    let c = contract();
    let path = path.split(['?', '#']).next().unwrap_or("");
    let template = c.template(path)?;
    c.doc["paths"][template][method.to_ascii_lowercase()]["operationId"]
        .as_str()
        .map(str::to_owned)
}

/// Checks `answer` to `method path` against the contract (the rules at the top of this file);
/// panics with every problem found.
pub fn check(method: &str, path: &str, answer: &Answer) {
    let problems = problems(method, path, answer);
    if !problems.is_empty() {
        panic!(
            "the answer to {} {} does not match openapi/openapi.json:\n  - {}\n{} {}\n{}",
            method.to_ascii_uppercase(),
            path.chars().take(200).collect::<String>(),
            problems.join("\n  - "),
            answer.status,
            answer
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            answer.body.chars().take(2000).collect::<String>()
        );
    }
}

/// What is wrong with `answer` to `method path` by the contract, one line each; nothing if
/// it is as the contract describes.
pub fn problems(method: &str, path: &str, answer: &Answer) -> Vec<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path == "/__scheduled" || path.starts_with("/__store-contract") {
        return Vec::new(); // Rule 1.
    }
    let c = contract();
    let method = method.to_ascii_lowercase();
    match c.template(path) {
        // Rule 2.
        None => error_problems(c, answer, 404, "NOT_FOUND"),
        Some(template) => {
            let item = &c.doc["paths"][template];
            let op = format!("/paths/{}/{method}", escape(template));
            // While not served, a path answers 404 to every method.
            let not_served = NOT_SERVED_YET.iter().any(|(_, _, p)| *p == template);
            if not_served && answer.status == 404 {
                // Rule 4.
                error_problems(c, answer, 404, "NOT_FOUND")
            } else if item.get(&method).is_some() {
                // Rule 5.
                operation_problems(c, &op, &method, answer)
            } else {
                // Rule 3.
                let allowed: Vec<String> = METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                let mut problems = if method == "head" {
                    // No body to check.
                    Vec::from_iter((answer.status != 405).then(|| "expected status 405".to_owned()))
                } else {
                    error_problems(c, answer, 405, "METHOD_NOT_ALLOWED")
                };
                let allow = answer.header("allow").unwrap_or("");
                let mut named: Vec<String> =
                    allow.split(',').map(|m| m.trim().to_owned()).collect();
                named.sort();
                let mut expected = allowed.clone();
                expected.sort();
                if named != expected {
                    problems.push(format!(
                        "Allow: {allow:?}, but the contract documents {}",
                        allowed.join(", ")
                    ));
                }
                problems
            }
        }
    }
}
