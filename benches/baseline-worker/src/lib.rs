//! The least a workers-rs worker can do: answer every request with a fixed JSON body. The
//! benchmarks measure the tracking worker against it, on the same workerd, built the same way.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let mut response = Response::from_bytes(br#"{"success":true,"status":"ok"}"#.to_vec())?;
    response
        .headers_mut()
        .set("Content-Type", "application/json; charset=utf-8")?;
    Ok(response)
}
