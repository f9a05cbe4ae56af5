//! Registering orders as the store's order system sends them: one at a time
//! (`PUT /api/admin/orders/:id`, [`TrackingService::put_order`]) or many in one request
//! (`POST /api/admin/orders`, [`TrackingService::put_orders`]). Both take the same decision
//! for each order — create it, update it, or refuse its waybill ([`decide`]) — and write
//! through the same store call. Many are written in chunks of [`CHUNK_ORDERS`], each chunk all
//! or nothing; a chunk that fails leaves the others standing.

use super::join::join_all;

use super::{Cached, ServiceError, TrackingService, snapshot_key};
use crate::carrier::Carrier;
use crate::model::{Order, Snapshot};
use crate::ports::{Clock, KeyValue, Log, OrderInput, OrderUpsert, Store};
use crate::sorting::group_numbers;

/// Orders written per D1 batch. A chunk costs two D1 queries (the check, then the batch), so
/// a request of 1,000 orders costs 20 — plus one if KV repairs must be noted — of the 50 the
/// free plan allows an invocation.
pub const CHUNK_ORDERS: usize = 100;

/// Why an order's waybill is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaybillConflict {
    pub code: &'static str,
    pub message: &'static str,
}

/// The waybill belongs to another order.
pub const AWB_IN_USE: WaybillConflict = WaybillConflict {
    code: "AWB_IN_USE",
    message: "This waybill belongs to another order",
};

/// The order has a different waybill already (a waybill, once given, is kept).
pub const AWB_EXISTS: WaybillConflict = WaybillConflict {
    code: "AWB_EXISTS",
    message: "This order has a different waybill already",
};

impl From<WaybillConflict> for ServiceError {
    fn from(c: WaybillConflict) -> ServiceError {
        ServiceError::Conflict {
            code: c.code,
            message: c.message.into(),
        }
    }
}

/// Whether to create `order` (`None`) or update it (`Some` of what the store has), or why its
/// waybill is refused, given the store's orders with its id or its waybill.
pub fn decide(order: &OrderUpsert, found: &[Order]) -> Result<Option<Order>, WaybillConflict> {
    let existing = found.iter().find(|o| o.id == order.order_id);
    if let Some(awb) = &order.input.awb_no {
        if found
            .iter()
            .any(|o| o.id != order.order_id && o.awb_no.as_ref() == Some(awb))
        {
            return Err(AWB_IN_USE);
        }
        if existing
            .and_then(|o| o.awb_no.as_ref())
            .is_some_and(|current| current != awb)
        {
            return Err(AWB_EXISTS);
        }
    }
    Ok(existing.cloned())
}

/// Whether updating `previous` with `input` changes what a customer sees of it — its owner,
/// its status or its waybill — so that its KV snapshot must go.
pub fn changes_snapshot(previous: &Order, input: &OrderInput) -> bool {
    previous.customer_id != input.customer_id
        || previous.order_status != input.order_status
        || (previous.awb_no.is_none() && input.awb_no.is_some())
}

/// One order of a request, with its line (1-based) in the request.
#[derive(Clone, Debug, PartialEq)]
pub struct IntakeLine {
    pub line: usize,
    pub order: OrderUpsert,
}

/// What became of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    Created,
    /// `cache_repair`: the update changed what customers see, and the order's KV snapshot
    /// could not be deleted; it is noted for the next sync's KV repair.
    Updated {
        cache_repair: bool,
    },
    /// Nothing was written for this line.
    Failed {
        code: &'static str,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineResult {
    pub line: usize,
    pub order_id: String,
    pub outcome: LineOutcome,
}

fn failed(line: &IntakeLine, code: &'static str, message: String) -> LineResult {
    LineResult {
        line: line.line,
        order_id: line.order.order_id.clone(),
        outcome: LineOutcome::Failed { code, message },
    }
}

/// The lines to write, and a failure for each line repeating an earlier line's order id or
/// waybill (the first one stands).
fn drop_duplicates(lines: &[IntakeLine]) -> (Vec<&IntakeLine>, Vec<LineResult>) {
    let ids: Vec<&str> = lines.iter().map(|l| l.order.order_id.as_str()).collect();
    let awbs: Vec<Option<&str>> = lines
        .iter()
        .map(|l| l.order.input.awb_no.as_deref())
        .collect();
    let (id_group, awb_group) = (group_numbers(&ids), group_numbers(&awbs));
    // The line each order id and each waybill was first kept on, by group.
    let mut first_id: Vec<Option<usize>> = vec![None; lines.len()];
    let mut first_awb: Vec<Option<usize>> = vec![None; lines.len()];
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(first) = first_id[id_group[i]] {
            let message = format!("orderId is also on line {first}; an order may appear once");
            refused.push(failed(line, "DUPLICATE_ORDER_ID", message));
        } else if let Some(first) = awbs[i].and(first_awb[awb_group[i]]) {
            let message = format!("awbNo is also on line {first}; a waybill may appear once");
            refused.push(failed(line, "DUPLICATE_AWB", message));
        } else {
            first_id[id_group[i]] = Some(line.line);
            if awbs[i].is_some() {
                first_awb[awb_group[i]] = Some(line.line);
            }
            kept.push(line);
        }
    }
    (kept, refused)
}

impl<S, K, C, T, L> TrackingService<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    /// Creates or updates an order as the store's order system sees it.
    ///
    /// When the order changes owner, its KV snapshot (which names the old owner, and which
    /// customers are authorised against) is deleted, and if that fails the update fails, so
    /// that the order system tries again: the old owner must not go on reading the order.
    pub async fn put_order(
        &self,
        order_id: &str,
        input: &OrderInput,
    ) -> Result<(Snapshot, bool), ServiceError> {
        let order = OrderUpsert {
            order_id: order_id.to_owned(),
            input: input.clone(),
        };
        let found = self
            .store
            .orders_for_intake(
                std::slice::from_ref(&order.order_id),
                input.awb_no.as_slice(),
            )
            .await?;
        let previous = decide(&order, &found)?;
        self.store
            .upsert_orders(std::slice::from_ref(&order), self.clock.now())
            .await?;
        if let Some(previous) = &previous {
            // KV is checked too: a retry after a failed delete finds D1 changed already.
            let cached_owner = match self.cached(order_id).await {
                Cached::Snapshot(s) => Some(s.order.customer_id),
                _ => None,
            };
            let other = |owner: Option<&str>| owner.is_some_and(|o| o != input.customer_id);
            if other(Some(&previous.customer_id)) || other(cached_owner.as_deref()) {
                self.forget_cached(order_id).await?;
            }
        }
        Ok((self.load_from_store(order_id).await?, previous.is_none()))
    }

    /// Deletes an order's KV snapshot after a change of owner. On failure the order is also
    /// noted for the next sync's KV repair, and the error is returned.
    async fn forget_cached(&self, order_id: &str) -> Result<(), ServiceError> {
        let Err(e) = self.kv.delete(&snapshot_key(order_id)).await else {
            self.log.info(&format!(
                "[CACHE] Order {order_id} changed owner; its KV snapshot was deleted"
            ));
            return Ok(());
        };
        self.log.warn(&format!(
            "[CACHE] Order {order_id} changed owner but its KV snapshot could not be deleted: {e}"
        ));
        let ids = [order_id.to_owned()];
        let _ = self.store.mark_kv_stale(&ids, self.clock.now()).await;
        Err(ServiceError::Store(e))
    }

    /// Creates or updates many orders, each as [`put_order`](Self::put_order) would decide,
    /// and answers for every line, in line order.
    ///
    /// A line repeating an earlier line's order id or waybill is refused. The others are
    /// written in chunks of [`CHUNK_ORDERS`], in order, each in one D1 batch: a chunk whose
    /// check or batch fails is failed as a whole and the other chunks still go through. An
    /// update that changes what customers see deletes the order's KV snapshot (the next read
    /// heals it from D1); a delete that fails is noted for the next sync's KV repair. A created
    /// order's KV key is left alone: at most an "unknown order" note from the last minute
    /// stands until it expires.
    pub async fn put_orders(&self, lines: &[IntakeLine]) -> Vec<LineResult> {
        let (kept, mut results) = drop_duplicates(lines);
        let mut kv_stale = Vec::new();
        let mut failed_chunks = 0;
        for chunk in kept.chunks(CHUNK_ORDERS) {
            let (chunk_results, ok) = self.put_chunk(chunk, &mut kv_stale).await;
            results.extend(chunk_results);
            failed_chunks += usize::from(!ok);
        }
        if !kv_stale.is_empty()
            && let Err(e) = self.store.mark_kv_stale(&kv_stale, self.clock.now()).await
        {
            self.log.warn(&format!(
                "[CACHE] Could not note {} orders for KV repair: {e}",
                kv_stale.len()
            ));
        }
        crate::sorting::sort_by_key(&mut results, |r| r.line);
        let count = |f: fn(&LineOutcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
        self.log.info(&format!(
            "[INTAKE] {} orders: {} created, {} updated, {} failed ({} chunks, {failed_chunks} failed)",
            results.len(),
            count(|o| *o == LineOutcome::Created),
            count(|o| matches!(o, LineOutcome::Updated { .. })),
            count(|o| matches!(o, LineOutcome::Failed { .. })),
            kept.len().div_ceil(CHUNK_ORDERS),
        ));
        results
    }

    /// One chunk: the check, the batch, the KV deletes. Returns its lines' results and whether
    /// its storage calls went through.
    async fn put_chunk(
        &self,
        chunk: &[&IntakeLine],
        kv_stale: &mut Vec<String>,
    ) -> (Vec<LineResult>, bool) {
        let ids: Vec<String> = chunk.iter().map(|l| l.order.order_id.clone()).collect();
        let awbs: Vec<String> = chunk
            .iter()
            .filter_map(|l| l.order.input.awb_no.clone())
            .collect();
        let mut results = Vec::new();
        let mut writes = Vec::new();
        let mut previous = Vec::new();
        let written = match self.store.orders_for_intake(&ids, &awbs).await {
            Ok(found) => {
                for line in chunk {
                    match decide(&line.order, &found) {
                        Ok(before) => {
                            writes.push(line.order.clone());
                            previous.push((*line, before));
                        }
                        Err(c) => results.push(failed(line, c.code, c.message.into())),
                    }
                }
                if writes.is_empty() {
                    Ok(())
                } else {
                    self.store.upsert_orders(&writes, self.clock.now()).await
                }
            }
            Err(e) => {
                previous = chunk.iter().map(|l| (*l, None)).collect();
                Err(e)
            }
        };
        if let Err(e) = written {
            let (first, last) = (chunk[0].line, chunk[chunk.len() - 1].line);
            self.log.warn(&format!(
                "[INTAKE] The chunk of lines {first}-{last} was not saved: {e}"
            ));
            let message = format!(
                "Storage failed for the chunk of lines {first}-{last}; nothing in it was saved. Safe to retry"
            );
            results.extend(
                previous
                    .iter()
                    .map(|(l, _)| failed(l, "STORAGE_UNAVAILABLE", message.clone())),
            );
            return (results, false);
        }
        // Where in `previous` each order whose cached snapshot must go is.
        let forget: Vec<usize> = (0..previous.len())
            .filter(|&at| {
                let (l, before) = &previous[at];
                before
                    .as_ref()
                    .is_some_and(|b| changes_snapshot(b, &l.order.input))
            })
            .collect();
        let keys: Vec<String> = forget
            .iter()
            .map(|&at| snapshot_key(&previous[at].0.order.order_id))
            .collect();
        let deletes = join_all(keys.iter().map(|key| self.kv.delete(key))).await;
        let mut not_deleted = vec![false; previous.len()];
        for (&at, deleted) in forget.iter().zip(deletes) {
            if let Err(e) = deleted {
                let id = &previous[at].0.order.order_id;
                self.log.warn(&format!(
                    "[CACHE] Order {id} changed but its KV snapshot could not be deleted: {e}"
                ));
                not_deleted[at] = true;
                kv_stale.push(id.clone());
            }
        }
        results.extend(
            previous
                .into_iter()
                .zip(not_deleted)
                .map(|((l, before), not_deleted)| LineResult {
                    line: l.line,
                    order_id: l.order.order_id.clone(),
                    outcome: match before {
                        None => LineOutcome::Created,
                        Some(_) => LineOutcome::Updated {
                            cache_repair: not_deleted,
                        },
                    },
                }),
        );
        (results, true)
    }
}
