//! Locating and running the real `mailroom` binary built in this workspace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The path of `target/<profile>/mailroom`, next to the test binary's `deps/` directory.
/// Panics with what to do if it has not been built (the README's test command builds it).
pub fn mailroom_path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let bin = profile_dir.join("mailroom");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --bin mailroom` (tests/run does)",
        bin.display()
    );
    bin
}

/// Runs `mailroom` with `args` and returns its output, whatever its exit status.
pub fn run(args: &[&str]) -> Output {
    Command::new(mailroom_path()).args(args).output().expect("mailroom runs")
}

/// Runs `mailroom --data <data> <args>` with `stdin` as its standard input (how scripts
/// hand it passwords), and returns its output whatever its exit status.
pub fn run_in(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(mailroom_path())
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailroom runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("mailroom finishes")
}
