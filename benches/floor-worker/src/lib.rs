//! The floors the benchmarks hold the tracking worker to: the least I/O its answers can do,
//! in a workers-rs worker built and served the same way.
//!
//! - `GET /kv`: one KV read, its bytes as the answer with the header fields of the tracking
//!   worker's cached answer — the least a cached answer costs. The bench sends it the
//!   customer's request as it sends the tracking worker, token and all: the contract's answer
//!   cannot do without those fields, nor be asked for without the token.
//! - `GET /kv-bare`: the same read with `Content-Type` alone, asked for without a token (the KV
//!   floor before the answer's fields were added): a reference line, what the fields cost.
//! - `GET /refresh`: one outbound fetch to the carrier (the simulator, at `FLOOR_CARRIER_URL`
//!   with the token `FLOOR_CARRIER_TOKEN`), one D1 write statement, one KV put, in sequence —
//!   the least I/O a live refresh does.
//! - `PUT /kv` (the answer to keep) and `PUT /refresh` (the table): the bench's set-up, not
//!   measured.

use worker::{
    Context, Date, Env, Fetch, Headers, Method, Request, RequestInit, Response, Result, event,
    web_sys,
};

const KEY: &str = "floor:answer";

/// The header fields of the tracking worker's cached answer besides `Content-Type`; its `ETag`
/// is the answer's own, this one as long. The bench checks that they are the same.
const ANSWER_FIELDS: [(&str, &str); 4] = [
    ("Cache-Control", "private, max-age=30"),
    ("ETag", "\"0123456789abcdef\""),
    ("Vary", "Authorization, Origin"),
    ("X-Content-Type-Options", "nosniff"),
];

fn json(body: Vec<u8>) -> Result<Response> {
    let mut response = Response::from_bytes(body)?;
    response
        .headers_mut()
        .set("Content-Type", "application/json; charset=utf-8")?;
    Ok(response)
}

/// `body` as the tracking worker answers a cached track: JSON, with the same header fields.
fn cached_answer(body: Vec<u8>) -> Result<Response> {
    let mut response = json(body)?;
    for (name, value) in ANSWER_FIELDS {
        response.headers_mut().set(name, value)?;
    }
    Ok(response)
}

/// The runtime's own request, as the tracking worker takes it: wrapping it in workers-rs'
/// `Request` would read its headers and `cf` properties, which no floor needs.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let url = req.url();
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or("/");
    Ok(route(req.method().into(), path, req, &env).await?.into())
}

async fn route(method: Method, path: &str, req: web_sys::Request, env: &Env) -> Result<Response> {
    let kv = env.kv("FLOOR_KV")?;
    match (method, path) {
        (Method::Get, "/kv") => cached_answer(kv.get(KEY).bytes().await?.unwrap_or_default()),
        (Method::Get, "/kv-bare") => json(kv.get(KEY).bytes().await?.unwrap_or_default()),
        (Method::Put, "/kv") => {
            let body = Request::from(req).bytes().await?;
            kv.put_bytes(KEY, &body)?.execute().await?;
            Response::empty()
        }
        (Method::Get, "/refresh") => {
            let headers = Headers::new();
            headers.set("JWTToken", &env.var("FLOOR_CARRIER_TOKEN")?.to_string())?;
            let mut init = RequestInit::new();
            init.with_headers(headers);
            let url = env.var("FLOOR_CARRIER_URL")?.to_string();
            let mut answer = Fetch::Request(Request::new_with_init(&url, &init)?)
                .send()
                .await?;
            let body = answer.text().await?;
            env.d1("FLOOR_DB")?
                .prepare(
                    "INSERT INTO floor (id, body, at) VALUES ('one', ?1, ?2) \
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body, at = excluded.at",
                )
                .bind(&[
                    body.as_str().into(),
                    Date::now().as_millis().to_string().into(),
                ])?
                .run()
                .await?;
            kv.put("floor:refresh", &body)?.execute().await?;
            json(body.into_bytes())
        }
        (Method::Put, "/refresh") => {
            env.d1("FLOOR_DB")?
                .exec("CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, body TEXT, at TEXT)")
                .await?;
            Response::empty()
        }
        _ => Response::error("not found", 404),
    }
}
