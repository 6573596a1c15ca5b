//! The one request loop every NATS handler of the gateway uses (control plane, callout, `$SYNC`,
//! bridge relay): each message gets its own task, at most `limit` of them at once (a permit of
//! the shared semaphore, held until the handler ends), so one slow request never holds up the
//! others and a flood cannot start unbounded work. Ends when the subscription does.

use std::future::Future;
use std::sync::Arc;

use async_nats::{Message, Subscriber};
use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Runs `handle(message)` for every message of `sub` in its own task, at most as many at once as
/// `limit` has permits.
pub fn each<F, Fut>(mut sub: Subscriber, limit: Arc<Semaphore>, handle: F) -> JoinHandle<()>
where
    F: Fn(Message) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            let work = handle(msg);
            tokio::spawn(async move {
                let _permit = permit;
                work.await;
            });
        }
    })
}
