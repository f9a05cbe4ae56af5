//! Workers KV behind the domain's `KeyValue` port.

use worker::kv::KvStore;

use tracking_core::ports::{KeyValue, StoreError};

pub struct WorkersKv {
    pub kv: KvStore,
}

impl KeyValue for WorkersKv {
    // Values cross into and out of the wasm as bytes, not strings: an ArrayBuffer is copied in
    // one go, where a string is encoded character by character by wasm-bindgen's glue (for the
    // few kilobytes of a cached order, about 5 % of a cached answer's time when read as text).
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let Some(bytes) = self
            .kv
            .get(key)
            .bytes()
            .await
            .map_err(|e| StoreError(e.to_string()))?
        else {
            return Ok(None);
        };
        // Every value is written by `put` below, from a `&str`.
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StoreError(format!("the KV value of {key} is not UTF-8")))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError> {
        let mut put = self
            .kv
            .put_bytes(key, value.as_bytes())
            .map_err(|e| StoreError(e.to_string()))?;
        if let Some(ttl) = ttl_secs {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv
            .delete(key)
            .await
            .map_err(|e| StoreError(e.to_string()))
    }
}
