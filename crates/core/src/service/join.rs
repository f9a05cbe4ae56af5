//! Waiting on several futures at once, as `futures_util`'s `join_all` does for up to 30 of
//! them. Past 30 it switches to `FuturesOrdered`, which the worker carried (about 0.6 KB gzip)
//! for batches of 50 KV writes: futures of I/O, for which polling each unfinished one again on
//! every wake costs nothing next to the I/O.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// Every future's output, in the order given, once all are done; all run together.
pub(crate) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pending.iter_mut().zip(&mut outputs) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ready after being polled `waits` times more, with its number.
    async fn after(waits: usize, n: usize) -> usize {
        let mut left = waits;
        poll_fn(|cx| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
        n
    }

    #[test]
    fn outputs_come_in_the_order_given_whichever_finishes_first() {
        for count in [0, 1, 2, 31, 50] {
            let outputs = pollster::block_on(join_all((0..count).map(|n| after((n * 7) % 5, n))));
            assert_eq!(outputs, (0..count).collect::<Vec<_>>(), "{count} futures");
        }
    }

    /// A future woken by another's progress, not by itself, is polled again: the first waits
    /// for a flag that the second sets after a wait of its own.
    #[test]
    fn a_future_woken_by_another_is_polled_again() {
        let flag = std::cell::Cell::new(false);
        let waiting = std::cell::RefCell::new(None::<std::task::Waker>);
        let outputs = pollster::block_on(join_all([
            Box::pin(async {
                poll_fn(|cx| {
                    if flag.get() {
                        return Poll::Ready(());
                    }
                    *waiting.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await;
                "waited"
            }) as Pin<Box<dyn Future<Output = &str>>>,
            Box::pin(async {
                after(3, 0).await;
                flag.set(true);
                if let Some(waker) = waiting.borrow_mut().take() {
                    waker.wake();
                }
                "woke"
            }),
        ]));
        assert_eq!(outputs, ["waited", "woke"]);
    }

    /// All run together: every one has started before any is done.
    #[test]
    fn every_future_starts_before_any_finishes() {
        let log = std::cell::RefCell::new(Vec::new());
        let outputs = pollster::block_on(join_all((0..40).map(|n| {
            let log = &log;
            async move {
                log.borrow_mut().push(("start", n));
                let n = after(1, n).await;
                log.borrow_mut().push(("done", n));
                n
            }
        })));
        let log = log.into_inner();
        assert_eq!(log.len(), 80);
        assert!(
            log[..40].iter().all(|(what, _)| *what == "start"),
            "{log:?}"
        );
        assert_eq!(outputs.len(), 40);
    }
}
