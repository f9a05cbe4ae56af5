//! `POST /api/admin/orders`: many orders created or updated in one request, so that seeding a
//! store's orders is not one request per order.
//!
//! The body is NDJSON (`application/x-ndjson`, one order a line, blank lines ignored) or a
//! JSON array (`application/json`) of at most [`MAX_BULK_ORDERS`] orders, each the body of
//! `PUT /api/admin/orders/:orderId` plus its `orderId`, validated the same way. A line that
//! cannot be read or is not valid is answered alone; the others go to
//! `TrackingService::put_orders`. Only whole-request problems are errors (415, 413, 400).

use serde_json::{Map, Value, json};
use tracking_core::ports::OrderUpsert;
use tracking_core::service::intake::{IntakeLine, LineOutcome, LineResult};

use crate::error::ApiError;
use crate::requests::{OrderBody, RequestBody, json_problem, order_id, read_body};

/// Orders per request, at most.
pub const MAX_BULK_ORDERS: usize = 1000;
/// The largest bulk body: 1 MiB, room for 1,000 orders of the longest ids and every field.
pub const MAX_BULK_BODY_BYTES: usize = 1024 * 1024;

const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";

/// A line refused before any storage call: unreadable, or not a valid order.
#[derive(Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based: the line of an NDJSON body, the position in a JSON array.
    pub line: usize,
    pub order_id: Option<String>,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl LineError {
    fn new(line: usize, order_id: Option<&str>, e: ApiError) -> LineError {
        LineError {
            line,
            order_id: order_id.map(str::to_owned),
            field: e.field().map(str::to_owned),
            code: e.code,
            message: e.message,
        }
    }
}

/// A bulk body: the valid orders, and the lines refused.
#[derive(Debug, Default, PartialEq)]
pub struct BulkBody {
    pub lines: Vec<IntakeLine>,
    pub errors: Vec<LineError>,
}

/// One order: `orderId` plus the fields of the single `PUT`'s body, checked as it checks them.
fn order_line(line: usize, value: Value) -> Result<IntakeLine, LineError> {
    let Value::Object(mut fields) = value else {
        let e = ApiError::bad_request("INVALID_JSON", "Each order must be a JSON object");
        return Err(LineError::new(line, None, e));
    };
    let id = match fields.remove("orderId") {
        Some(Value::String(id)) => id,
        _ => {
            let e = ApiError::invalid("orderId", "required, a string");
            return Err(LineError::new(line, None, e));
        }
    };
    let order_id = order_id(&id).map_err(|e| LineError::new(line, None, e))?;
    let refuse = |e| LineError::new(line, Some(&order_id), e);
    let body: OrderBody = serde_json::from_value(Value::Object(fields)).map_err(|e| {
        refuse(ApiError::bad_request(
            "INVALID_JSON",
            format!("Invalid order: {}", json_problem(&e)),
        ))
    })?;
    let input = body.validate().map_err(refuse)?;
    Ok(IntakeLine {
        line,
        order: OrderUpsert {
            order_id: order_id.clone(),
            input,
        },
    })
}

/// One order of a body as sent: its line, and its JSON or why it is not JSON.
type Entry = (usize, Result<Value, String>);

/// The body's orders, before they are checked.
fn entries(media_type: &str, bytes: &[u8]) -> Result<Vec<Entry>, ApiError> {
    if media_type == NDJSON {
        return Ok(bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, text)| !text.trim_ascii().is_empty())
            .map(|(i, text)| {
                let value = serde_json::from_slice(text)
                    .map_err(|e| format!("Invalid JSON: {}", json_problem(&e)));
                (i + 1, value)
            })
            .collect());
    }
    let values: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "INVALID_JSON",
            format!(
                "Invalid JSON body: expected an array of orders: {}",
                json_problem(&e)
            ),
        )
    })?;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, value)| (i + 1, Ok(value)))
        .collect())
}

/// Reads a bulk body sent as `media_type`: at least one order and at most
/// [`MAX_BULK_ORDERS`], each line checked on its own.
pub fn parse(media_type: &str, bytes: &[u8]) -> Result<BulkBody, ApiError> {
    let entries = entries(media_type, bytes)?;
    if entries.is_empty() {
        return Err(ApiError::bad_request(
            "EMPTY_BODY",
            "Send at least one order",
        ));
    }
    if entries.len() > MAX_BULK_ORDERS {
        return Err(ApiError::new(
            413,
            "TOO_MANY_ORDERS",
            format!(
                "At most {MAX_BULK_ORDERS} orders per request (this one has {}); send the rest in further requests",
                entries.len()
            ),
        ));
    }
    let mut body = BulkBody::default();
    for (line, value) in entries {
        let read = value
            .map_err(|message| {
                LineError::new(line, None, ApiError::bad_request("INVALID_JSON", message))
            })
            .and_then(|value| order_line(line, value));
        match read {
            Ok(order) => body.lines.push(order),
            Err(e) => body.errors.push(e),
        }
    }
    Ok(body)
}

/// One entry of the answer's `results` or `errors`.
fn entry(line: usize, order_id: Option<&str>, fields: &[(&str, Value)]) -> Value {
    let mut entry = Map::new();
    entry.insert("line".into(), json!(line));
    if let Some(id) = order_id {
        entry.insert("orderId".into(), json!(id));
    }
    for (key, value) in fields {
        entry.insert((*key).into(), value.clone());
    }
    Value::Object(entry)
}

/// The answer: counts, what was created or updated, and why each failed line failed, in line
/// order. Ids, codes and statuses only: these bodies carry no personal data.
pub fn answer(errors: &[LineError], results: &[LineResult]) -> Value {
    let mut failed: Vec<(usize, Value)> = errors
        .iter()
        .map(|e| {
            let mut fields = vec![("code", json!(e.code)), ("message", json!(e.message))];
            if let Some(field) = &e.field {
                fields.push(("field", json!(field)));
            }
            (e.line, entry(e.line, e.order_id.as_deref(), &fields))
        })
        .collect();
    let mut done = Vec::new();
    let (mut created, mut updated) = (0, 0);
    for r in results {
        let id = Some(r.order_id.as_str());
        match &r.outcome {
            LineOutcome::Created => {
                created += 1;
                done.push(entry(r.line, id, &[("result", json!("created"))]));
            }
            LineOutcome::Updated { cache_repair } => {
                updated += 1;
                let mut fields = vec![("result", json!("updated"))];
                if *cache_repair {
                    fields.push(("cacheRepairPending", json!(true)));
                }
                done.push(entry(r.line, id, &fields));
            }
            LineOutcome::Failed { code, message } => {
                let fields = [("code", json!(code)), ("message", json!(message))];
                failed.push((r.line, entry(r.line, id, &fields)));
            }
        }
    }
    tracking_core::sorting::sort_by_key(&mut failed, |(line, _)| *line);
    json!({
        "success": failed.is_empty(),
        "received": errors.len() + results.len(),
        "created": created,
        "updated": updated,
        "failed": failed.len(),
        "results": done,
        "errors": failed.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })
}

/// The body of `POST /api/admin/orders`: read within [`MAX_BULK_BODY_BYTES`], then [`parse`]d.
pub async fn read<B: RequestBody>(request: http::Request<B>) -> Result<BulkBody, ApiError> {
    let (media_type, bytes) = read_body(request, &[JSON, NDJSON], MAX_BULK_BODY_BYTES).await?;
    parse(media_type, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ndjson(text: &str) -> BulkBody {
        parse(NDJSON, text.as_bytes()).unwrap()
    }

    fn codes(body: &BulkBody) -> Vec<(usize, &str)> {
        body.errors.iter().map(|e| (e.line, e.code)).collect()
    }

    #[test]
    fn ndjson_lines_are_numbered_as_sent_and_checked_alone() {
        let body = ndjson(concat!(
            "{\"orderId\":\"ORD-1\",\"customerId\":\"cust-1\"}\n",
            "\n",
            "{\"orderId\":\"ORD-2\",\"customerId\":\"cust-1\",\"orderStatus\":\"Shipped\",\"awbNo\":\"81234567890\",\"createdAt\":\"2026-01-23T08:01:12Z\"}\r\n",
            "{\"orderId\":\"ORD-3\",\"customerId\":\"cust-1\"\n",
            "{\"orderId\":\"ORD-4\",\"customerId\":\"cust-1\",\"orderStatus\":\"Lost\"}\n",
            "{\"customerId\":\"cust-1\"}\n",
            "{\"orderId\":\"a b\",\"customerId\":\"cust-1\"}\n",
            "{\"orderId\":\"ORD-7\",\"customerId\":\"cust-1\",\"isAdmin\":true}\n",
            "[1]\n",
            "   \n",
            "{\"orderId\":\"ORD-10\",\"customerId\":\"cust-1\",\"awbNo\":\"12\"}",
        ));
        let ok: Vec<(usize, &str)> = body
            .lines
            .iter()
            .map(|l| (l.line, l.order.order_id.as_str()))
            .collect();
        assert_eq!(ok, vec![(1, "ORD-1"), (3, "ORD-2")]);
        assert_eq!(body.lines[0].order.input.order_status, "Pending");
        let second = &body.lines[1].order.input;
        assert_eq!(second.awb_no.as_deref(), Some("81234567890"));
        assert!(second.created_at.is_some());
        assert_eq!(
            codes(&body),
            vec![
                (4, "INVALID_JSON"),
                (5, "VALIDATION_ERROR"),
                (6, "VALIDATION_ERROR"),
                (7, "INVALID_ORDER_ID"),
                (8, "INVALID_JSON"),
                (9, "INVALID_JSON"),
                (11, "VALIDATION_ERROR"),
            ]
        );
        let by_line = |n| body.errors.iter().find(|e| e.line == n).unwrap();
        assert_eq!(by_line(5).order_id.as_deref(), Some("ORD-4"));
        assert_eq!(by_line(5).field.as_deref(), Some("orderStatus"));
        assert_eq!(by_line(6).field.as_deref(), Some("orderId"));
        assert_eq!(by_line(7).order_id, None);
        assert!(by_line(8).message.contains("isAdmin"), "{:?}", by_line(8));
        assert_eq!(by_line(11).field.as_deref(), Some("awbNo"));
    }

    #[test]
    fn a_json_array_is_numbered_by_position() {
        let body = parse(
            JSON,
            br#"[{"orderId":"ORD-1","customerId":"cust-1"}, 7, {"orderId":"ORD-3","customerId":""}]"#,
        )
        .unwrap();
        assert_eq!(body.lines.len(), 1);
        assert_eq!(body.lines[0].line, 1);
        assert_eq!(
            codes(&body),
            vec![(2, "INVALID_JSON"), (3, "VALIDATION_ERROR")]
        );
    }

    #[test]
    fn whole_request_problems_are_errors() {
        let status = |media, body: &str| {
            let e = parse(media, body.as_bytes()).unwrap_err();
            (e.status, e.code)
        };
        assert_eq!(status(NDJSON, ""), (400, "EMPTY_BODY"));
        assert_eq!(status(NDJSON, "\n \r\n\n"), (400, "EMPTY_BODY"));
        assert_eq!(status(JSON, "[]"), (400, "EMPTY_BODY"));
        assert_eq!(
            status(JSON, "{\"orderId\":\"ORD-1\"}"),
            (400, "INVALID_JSON")
        );
        assert_eq!(status(JSON, "[{"), (400, "INVALID_JSON"));
        let line = "{\"orderId\":\"ORD-1\",\"customerId\":\"cust-1\"}\n";
        let most = line.repeat(MAX_BULK_ORDERS);
        assert_eq!(
            parse(NDJSON, most.as_bytes()).unwrap().lines.len(),
            MAX_BULK_ORDERS
        );
        let over = line.repeat(MAX_BULK_ORDERS + 1);
        assert_eq!(status(NDJSON, &over), (413, "TOO_MANY_ORDERS"));
        let array = format!("[{}]", vec!["7"; MAX_BULK_ORDERS + 1].join(","));
        assert_eq!(status(JSON, &array), (413, "TOO_MANY_ORDERS"));
    }

    #[test]
    fn the_longest_orders_fit_the_body_limit() {
        let id = "X".repeat(64);
        let line = json!({"orderId": id, "customerId": id, "orderStatus": "Processing",
            "createdAt": "2026-01-23T08:01:12.123456789+05:30", "awbNo": "812345678901"});
        let body = format!("{line}\n").repeat(MAX_BULK_ORDERS);
        assert!(body.len() <= MAX_BULK_BODY_BYTES, "{}", body.len());
    }

    #[test]
    fn the_answer_counts_and_lists_every_line_in_order() {
        let errors = vec![LineError {
            line: 2,
            order_id: None,
            code: "INVALID_JSON",
            message: "Invalid JSON".into(),
            field: None,
        }];
        let results = vec![
            LineResult {
                line: 1,
                order_id: "ORD-1".into(),
                outcome: LineOutcome::Created,
            },
            LineResult {
                line: 3,
                order_id: "ORD-3".into(),
                outcome: LineOutcome::Updated { cache_repair: true },
            },
            LineResult {
                line: 4,
                order_id: "ORD-4".into(),
                outcome: LineOutcome::Failed {
                    code: "AWB_IN_USE",
                    message: "This waybill belongs to another order".into(),
                },
            },
        ];
        let body = answer(&errors, &results);
        assert_eq!(
            body,
            json!({
                "success": false, "received": 4, "created": 1, "updated": 1, "failed": 2,
                "results": [
                    {"line": 1, "orderId": "ORD-1", "result": "created"},
                    {"line": 3, "orderId": "ORD-3", "result": "updated", "cacheRepairPending": true},
                ],
                "errors": [
                    {"line": 2, "code": "INVALID_JSON", "message": "Invalid JSON"},
                    {"line": 4, "orderId": "ORD-4", "code": "AWB_IN_USE",
                     "message": "This waybill belongs to another order"},
                ],
            })
        );
        assert_eq!(answer(&[], &results[..1])["success"], true);
    }
}
