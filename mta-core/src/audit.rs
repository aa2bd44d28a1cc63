//! The audit log: every administrative action (who, what, on what, when, from where),
//! from the admin pages and the command line alike. One file per host,
//! `<data>/audit/<host>.log`, one JSON object a line, appended and synced: hosts sharing
//! the data directory never write the same file, and a reader merges them by time.

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};

use serde::{Deserialize, Serialize};

use crate::datadir::DataDir;

/// One action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix seconds.
    pub at: u64,
    /// Who did it (an address, or `cli:<unix user>`).
    pub who: String,
    /// From where (a client address, or `cli`).
    pub from: String,
    /// What (`user.add`, `domain.remove`, …).
    pub action: String,
    /// On what (an address, a domain, a queue id).
    pub target: String,
    /// More, in words.
    pub detail: String,
}

fn dir(data: &DataDir) -> std::path::PathBuf {
    data.root().join("audit")
}

/// Appends an event to this host's log.
pub fn record(data: &DataDir, event: &Event) -> io::Result<()> {
    let dir = dir(data);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.log", maildir::name::hostname()));
    let mut line = serde_json::to_string(event).map_err(io::Error::other)?;
    line.push('\n');
    let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Records and logs an action; a failure to write the log is logged, not fatal (the
/// action itself is done).
pub fn note(data: &DataDir, who: &str, from: &str, action: &str, target: &str, detail: &str) {
    let event = Event {
        at: crate::queue::now(),
        who: who.to_string(),
        from: from.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
    };
    tracing::info!(who, from, action, target, detail, "audit");
    if let Err(e) = record(data, &event) {
        tracing::error!("audit: cannot write the log: {e}");
    }
}

/// The newest events of every host, newest first: `skip` of them left out, at most
/// `limit` returned. Lines that do not parse are skipped.
pub fn read(data: &DataDir, skip: usize, limit: usize) -> io::Result<Vec<Event>> {
    let mut events = Vec::new();
    let entries = match fs::read_dir(dir(data)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(events),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_none_or(|e| e != "log") {
            continue;
        }
        let file = fs::File::open(entry.path())?;
        for line in BufReader::new(file).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Event>(&line) {
                events.push(event);
            }
        }
    }
    // Newest first; within one second, the later line of a file first.
    let mut numbered: Vec<(usize, Event)> = events.into_iter().enumerate().collect();
    numbered.sort_by_key(|(n, e)| std::cmp::Reverse((e.at, *n)));
    Ok(numbered.into_iter().map(|(_, e)| e).skip(skip).take(limit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::create(dir.path()).expect("data");
        for (at, action) in [(10, "user.add"), (30, "domain.remove"), (20, "alias.add")] {
            let event = Event {
                at,
                who: "root@example.org".into(),
                from: "192.0.2.1".into(),
                action: action.into(),
                target: "x".into(),
                detail: String::new(),
            };
            record(&data, &event).expect("record");
        }
        std::fs::write(dir.path().join("audit/other-host.log"), "{\"at\":25,\"who\":\"cli:root\",\"from\":\"cli\",\"action\":\"user.remove\",\"target\":\"y\",\"detail\":\"\"}\nnot json\n").expect("other host");
        let events = read(&data, 0, 10).expect("read");
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["domain.remove", "user.remove", "alias.add", "user.add"]);
        assert_eq!(read(&data, 1, 2).expect("page").len(), 2);
    }
}
