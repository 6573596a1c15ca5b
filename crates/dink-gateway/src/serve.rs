//! The one request loop every NATS handler of the gateway uses (control plane, callout, `$SYNC`,
//! bridge relay): each message gets its own task, at most `limit` of them at once (a permit of
//! the shared semaphore, held until the handler ends), so one slow request never holds up the
//! others and a flood cannot start unbounded work. Ends when the subscription does.
//!
//! [`queue`] is the usual entry: it subscribes fixed subjects in the gateways' queue group, so
//! each request is answered by one gateway process.

use std::future::Future;
use std::sync::Arc;

use async_nats::{Client, Message, Subscriber};
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

/// The queue group every gateway process joins: one of them answers each request.
pub const QUEUE: &str = "dink-gateway";

/// Subscribes each of `subjects` on `client` in [`QUEUE`] and serves them with [`each`], at most
/// `concurrency` handlers at once across all of them; flushes, so the subscriptions are in place
/// when this returns.
pub async fn queue<F, Fut>(
    client: &Client,
    subjects: &[&str],
    concurrency: usize,
    handle: F,
) -> Result<Vec<JoinHandle<()>>, String>
where
    F: Fn(Message) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(subjects.len());
    for s in subjects {
        let sub = client
            .queue_subscribe(s.to_string(), QUEUE.into())
            .await
            .map_err(|e| format!("subscribe {s}: {e}"))?;
        tasks.push(each(sub, limit.clone(), handle.clone()));
    }
    client.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(tasks)
}
