//! The scheduler: takes each acknowledged message to delivery, at once when it arrives
//! and again when a deferred recipient is due, a bounded number at a time.
//!
//! It owns no state that matters: everything is in the queue directory, so a restart
//! (after a crash, too) picks up where it was ([`Queue::recover`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};

use crate::accounts::Directory;
use crate::deliver;
use crate::queue::{Queue, RecipientStatus, bounce, now};

/// Messages delivered at the same time (each is sync file I/O on a blocking thread).
pub const CONCURRENCY: usize = 16;
/// How often the whole queue is looked through for recipients that became due.
pub const RESCAN_EVERY: Duration = Duration::from_secs(30);

/// How often the scheduler looks whether `queue flush` asked for a rescan (one stat).
pub const FLUSH_POLL: Duration = Duration::from_secs(1);

/// Tells the scheduler about new messages.
#[derive(Debug, Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<String>,
}

impl Handle {
    /// A message was just acknowledged: deliver it now.
    pub fn notify(&self, id: String) {
        let _ = self.tx.send(id);
    }
}

/// Starts the scheduler on the current tokio runtime. It stops when `shutdown` turns
/// true, after the deliveries in flight finish.
pub fn spawn(
    queue: Queue,
    directory: Arc<Directory>,
    host: String,
    mut shutdown: watch::Receiver<bool>,
) -> (Handle, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let handle = Handle { tx: tx.clone() };
    let task = tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
        let recovered = {
            let queue = queue.clone();
            tokio::task::spawn_blocking(move || queue.recover()).await
        };
        match recovered {
            Ok(Ok(ids)) => {
                if !ids.is_empty() {
                    tracing::info!(messages = ids.len(), "queue: recovered at start");
                }
                for id in ids {
                    let _ = tx.send(id);
                }
            }
            Ok(Err(e)) => tracing::error!("queue: recovery failed: {e}"),
            Err(e) => tracing::error!("queue: recovery panicked: {e}"),
        }
        let mut rescan = tokio::time::interval(RESCAN_EVERY);
        rescan.tick().await;
        let mut poll_flush = tokio::time::interval(FLUSH_POLL);
        let mut last_poke = queue.poked();
        loop {
            let id = tokio::select! {
                id = rx.recv() => match id { Some(id) => id, None => break },
                _ = poll_flush.tick() => {
                    let poked = queue.poked();
                    if poked != last_poke {
                        last_poke = poked;
                        rescan.reset_immediately();
                    }
                    continue;
                }
                _ = rescan.tick() => {
                    let queue = queue.clone();
                    if let Ok(Ok(ids)) = tokio::task::spawn_blocking(move || queue.ids()).await {
                        for id in ids { let _ = tx.send(id); }
                    }
                    continue;
                }
                _ = shutdown.changed() => break,
            };
            if !lock(&in_flight).insert(id.clone()) {
                continue;
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
            let (queue, directory, host, in_flight) =
                (queue.clone(), Arc::clone(&directory), host.clone(), Arc::clone(&in_flight));
            tokio::task::spawn_blocking(move || {
                process(&queue, &directory, &host, &id);
                lock(&in_flight).remove(&id);
                drop(permit);
            });
        }
        // Wait for the deliveries in flight.
        let _ = permits.acquire_many(CONCURRENCY as u32).await;
    });
    (handle, task)
}

fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

/// One delivery round for one message.
pub fn process(queue: &Queue, directory: &Directory, host: &str, id: &str) {
    let mut entry = match queue.load(id) {
        Ok(entry) => entry,
        Err(crate::queue::Error::NoSuchMessage(_)) => return,
        Err(e) => {
            tracing::error!(id, "queue: cannot load: {e}");
            return;
        }
    };
    if entry.envelope.recipients.is_empty() {
        // Every recipient was one a domain drops (discard_unknown): nothing to deliver.
        tracing::info!(id, "queue: no recipients left (discarded)");
        if let Err(e) = queue.remove(id) {
            tracing::error!(id, "queue: cannot remove: {e}");
        }
        return;
    }
    let before = entry.status.clone();
    let failed = deliver::local::deliver(directory, queue, &mut entry, now());
    if entry.status == before {
        return;
    }
    // Mailboxes reached in this round: their vacation autoreplies, if any.
    let reached: Vec<(crate::names::Address, String)> = entry
        .status
        .iter()
        .enumerate()
        .filter(|(n, s)| matches!(s, RecipientStatus::Delivered { .. }) && before[*n] != **s)
        .filter_map(|(n, _)| {
            let recipient = &entry.envelope.recipients[n];
            match &recipient.destination {
                crate::accounts::Destination::Mailbox(a) => {
                    Some((a.clone(), recipient.original.clone()))
                }
                crate::accounts::Destination::Remote(_) => None,
            }
        })
        .collect();
    for reply in deliver::vacation::respond(directory, queue, &entry, &reached, now()) {
        process(queue, directory, host, &reply);
    }
    for (n, status) in entry.status.iter().enumerate() {
        if status != &before[n] {
            let to = &entry.envelope.recipients[n].destination;
            match status {
                RecipientStatus::Delivered { .. } => tracing::debug!(id, %to, "delivered"),
                RecipientStatus::Failed { reason, .. } => tracing::warn!(id, %to, reason, "failed"),
                RecipientStatus::Deferred { reason, next, .. } => {
                    tracing::info!(id, %to, reason, retry_at = next, "deferred")
                }
                RecipientStatus::Pending => {}
            }
        }
    }
    if !failed.is_empty() {
        // The bounce is queued before the failure is recorded: a crash in between sends
        // it twice, never not at all.
        match bounce::send(directory, queue, &entry, &failed, host) {
            Ok(Some(bounce_id)) => {
                tracing::info!(id, bounce = %bounce_id, "bounce queued");
                process(queue, directory, host, &bounce_id);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(id, "cannot queue the bounce: {e}; will retry");
                return;
            }
        }
    }
    if let Err(e) = queue.record(&entry) {
        tracing::error!(id, "queue: cannot record delivery status: {e}");
    }
}
