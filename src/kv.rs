//! Workers KV behind the domain's `KeyValue` port.

use worker::kv::KvStore;

use tracking_core::ports::{KeyValue, StoreError};

pub struct WorkersKv {
    pub kv: KvStore,
}

impl KeyValue for WorkersKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.kv
            .get(key)
            .text()
            .await
            .map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError> {
        let mut put = self
            .kv
            .put(key, value)
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
