//! `mailroom index <maildir>`: build or update the header index of every folder.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use maildir::Maildir;
use maildir::index::{HeaderIndex, Loaded, Progress, SyncOptions, SyncReport};

/// How much work to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Load each index and bring it up to date (the journal, changed directories).
    Update,
    /// List every directory, even where the index looks current.
    Full,
    /// Delete the indexes and build them from the directories.
    Rebuild,
}

impl Mode {
    /// From the command-line flags.
    pub fn from_flags(full: bool, rebuild: bool) -> Mode {
        match (full, rebuild) {
            (_, true) => Mode::Rebuild,
            (true, false) => Mode::Full,
            _ => Mode::Update,
        }
    }
}

/// Runs the command, printing one line per folder and a total.
pub fn run(path: &Path, mode: Mode) -> anyhow::Result<()> {
    let started = Instant::now();
    let maildir =
        Maildir::open(path).with_context(|| format!("cannot index {}", path.display()))?;
    let folders = maildir.folders().context("cannot list the folders")?;

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} headers, {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let on_progress = |p: Progress| match p {
        Progress::Found(n) => bar.inc_length(n as u64),
        Progress::Read(n) => bar.inc(n as u64),
    };
    let options = SyncOptions {
        full: mode == Mode::Full,
        progress: Some(&on_progress),
        ..SyncOptions::default()
    };

    let mut lines = Vec::new();
    let (mut messages, mut unread, mut bytes) = (0usize, 0usize, 0u64);
    for name in &folders {
        let folder = maildir.folder(name).with_context(|| format!("cannot open folder {name}"))?;
        if mode == Mode::Rebuild {
            let file = folder.path().join(maildir::index::FILE);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", file.display()));
                }
            }
        }
        bar.set_message(name.to_string());
        let t = Instant::now();
        let (index, report) = HeaderIndex::open_with(&folder, &options)
            .with_context(|| format!("cannot index folder {name}"))?;
        messages += index.len();
        unread += index.unread();
        bytes += index.total_size();
        lines.push(format!(
            "{:<24} {:>8} messages {:>8} unread {:>10}  {:<32} {:>6} ms",
            name.to_string(),
            index.len(),
            index.unread(),
            human_bytes(index.total_size()),
            describe(&report),
            t.elapsed().as_millis()
        ));
    }
    bar.finish_and_clear();

    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "{} folders, {messages} messages ({unread} unread, {}) indexed in {}",
        folders.len(),
        human_bytes(bytes),
        human_duration(started.elapsed())
    )?;
    Ok(())
}

fn describe(report: &SyncReport) -> String {
    let how = match &report.loaded {
        Loaded::Missing => "built".to_string(),
        Loaded::Rebuilt(why) => format!("rebuilt ({why})"),
        Loaded::FromFile | Loaded::InMemory if !report.changed() => "up to date".to_string(),
        Loaded::FromFile | Loaded::InMemory => {
            format!("updated +{} -{} ~{}", report.added, report.removed, report.renamed)
        }
    };
    if report.skipped > 0 { format!("{how}, {} odd names skipped", report.skipped) } else { how }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(human_duration(Duration::from_millis(85)), "85 ms");
        assert_eq!(human_duration(Duration::from_secs(12)), "12.0 s");
        assert_eq!(Mode::from_flags(false, true), Mode::Rebuild);
        assert_eq!(Mode::from_flags(true, false), Mode::Full);
    }
}
