//! `mailroom queue list|show|flush|delete`: this host's queue.

use std::path::Path;

use anyhow::bail;
use mta_core::datadir::DataDir;
use mta_core::queue::{Entry, Queue, RecipientStatus};
use serde_json::json;

use super::Output;
use crate::cli::QueueCommand;

/// Runs a queue command.
pub fn run(data: &Path, command: QueueCommand, out: Output) -> anyhow::Result<()> {
    let data = DataDir::open(data)?;
    let queue = Queue::open(data.queue(maildir::name::hostname()))?;
    match command {
        QueueCommand::List => {
            let mut entries = Vec::new();
            for id in queue.ids()? {
                match queue.load(&id) {
                    Ok(entry) => entries.push(entry),
                    Err(mta_core::queue::Error::NoSuchMessage(_)) => {} // delivered meanwhile
                    Err(e) => eprintln!("mailroom: warning: {e}"),
                }
            }
            out.print(&entries, || {
                let mut text = format!("{} messages in the queue\n", entries.len());
                for e in &entries {
                    text.push_str(&summary(e));
                }
                text
            })
        }
        QueueCommand::Show { id } => {
            let entry = queue.load(&id)?;
            out.print(&entry, || {
                let mut text = summary(&entry);
                text.push_str(&format!("  client {}\n", entry.envelope.client));
                text
            })
        }
        QueueCommand::Flush { id } => {
            let ids = match id {
                Some(id) => vec![id],
                None => queue.ids()?,
            };
            for id in &ids {
                match queue.make_due(id) {
                    Ok(()) | Err(mta_core::queue::Error::NoSuchMessage(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            queue.poke()?;
            mta_core::audit::note(
                &data,
                &super::admin::cli_user(),
                "cli",
                "queue.flush",
                &ids.join(" "),
                "",
            );
            out.print(&json!({ "flushed": ids }), || {
                format!(
                    "{} messages due now; a running server delivers them within a second",
                    ids.len()
                )
            })
        }
        QueueCommand::Delete { id, yes } => {
            if !yes {
                bail!("deleting {id} drops it without a bounce; add --yes to confirm");
            }
            queue.remove(&id)?;
            mta_core::audit::note(
                &data,
                &super::admin::cli_user(),
                "cli",
                "queue.delete",
                &id,
                "dropped without a bounce",
            );
            out.print(&json!({ "deleted": id }), || format!("deleted {id}"))
        }
    }
}

fn summary(entry: &Entry) -> String {
    let sender =
        if entry.envelope.sender.is_empty() { "<>" } else { entry.envelope.sender.as_str() };
    let mut text = format!("{}  {} bytes  from {sender}\n", entry.id, entry.size);
    for (r, status) in entry.envelope.recipients.iter().zip(&entry.status) {
        let state = match status {
            RecipientStatus::Pending
                if matches!(r.destination, mta_core::accounts::Destination::Remote(_)) =>
            {
                "pending (remote delivery is not available yet)".to_string()
            }
            other => other.describe(mta_core::queue::now()),
        };
        text.push_str(&format!("  to {}  {state}\n", r.destination));
    }
    text
}
