//! `mailroom domain|user|alias|queue` as an operator's script drives them: the real
//! binary, passwords on stdin, `--json` output parsed, and clear errors for bad input.

use mailroom_tests::binary::run_in as run;

fn ok(data: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let out = run(data, args, stdin);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(data: &std::path::Path, args: &[&str], stdin: &str, says: &str) {
    let out = run(data, args, stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?} did not fail: {err}");
    assert!(
        err.contains("mailroom: error:") && err.contains(says),
        "{args:?}: {err:?} lacks {says:?}"
    );
}

#[test]
fn domains_users_and_aliases_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    fails(&data, &["domain", "list"], "", "is not a Mailroom data directory");
    ok(&data, &["domain", "add", "Example.ORG", "--max-users", "2", "--max-quota", "5000000"], "");
    fails(&data, &["domain", "add", "example.org"], "", "exists already");
    fails(&data, &["domain", "add", "../etc"], "", "invalid domain");
    ok(&data, &["user", "add", "alice@example.org"], "first-password\n");
    ok(&data, &["user", "add", "bob@example.org", "--quota", "1000"], "bob-password\n");
    fails(&data, &["user", "add", "carol@example.org"], "carol-password\n", "at most 2 users");
    fails(&data, &["user", "add", "x@nowhere.example"], "password-1\n", "does not exist");
    fails(&data, &["user", "add", "a/b@example.org"], "password-1\n", "invalid user name");
    fails(&data, &["user", "passwd", "alice@example.org"], "", "no password on stdin");
    fails(&data, &["user", "passwd", "alice@example.org"], "short\n", "8 to 1024 bytes");
    ok(&data, &["user", "passwd", "alice@example.org"], "second-password\n");
    fails(&data, &["user", "quota", "alice@example.org", "9000000"], "", "exceeds the maximum");
    fails(&data, &["user", "quota", "alice@example.org", "0"], "", "no unlimited mailboxes");
    ok(&data, &["user", "quota", "alice@example.org", "4000000"], "");
    ok(&data, &["user", "service", "bob@example.org", "pop3", "--disable"], "");

    let users: serde_json::Value =
        serde_json::from_str(&ok(&data, &["user", "list", "example.org", "--json"], ""))
            .expect("json");
    assert_eq!(users[0]["address"], "alice@example.org");
    assert_eq!(users[0]["quota"], 4_000_000);
    assert_eq!(users[1]["quota"], 1000);
    assert_eq!(users[1]["disabled"][0], "pop3");
    let account =
        std::fs::read_to_string(data.join("domains/example.org/users/alice/account.toml"))
            .expect("account");
    assert!(account.contains("$argon2id$") && !account.contains("second-password"), "{account}");

    ok(&data, &["alias", "add", "team@example.org", "alice", "bob", "partner@far.example"], "");
    fails(&data, &["alias", "add", "alice@example.org", "bob"], "", "already a user");
    fails(&data, &["alias", "add", "x@example.org", "a%b@far.example"], "", "routes or quotes");
    let aliases: serde_json::Value =
        serde_json::from_str(&ok(&data, &["alias", "list", "example.org", "--json"], ""))
            .expect("json");
    assert_eq!(aliases[0]["alias"], "team@example.org");
    assert_eq!(aliases[0]["targets"].as_array().map(Vec::len), Some(3));
    ok(&data, &["alias", "remove", "team@example.org", "partner@far.example"], "");
    assert!(
        ok(&data, &["alias", "list", "example.org"], "")
            .contains("team@example.org → alice@example.org, bob@example.org\n")
    );

    let domains: serde_json::Value =
        serde_json::from_str(&ok(&data, &["domain", "list", "--json"], "")).expect("json");
    assert_eq!((domains[0]["users"].as_u64(), domains[0]["aliases"].as_u64()), (Some(2), Some(1)));

    fails(&data, &["user", "remove", "bob@example.org"], "", "--yes");
    let removed: serde_json::Value = serde_json::from_str(&ok(
        &data,
        &["user", "remove", "bob@example.org", "--yes", "--json"],
        "",
    ))
    .expect("json");
    let kept = removed["kept_at"].as_str().expect("kept_at");
    assert!(
        std::path::Path::new(kept).join("Maildir/cur").is_dir(),
        "removed mail not kept at {kept}"
    );
    fails(&data, &["domain", "remove", "example.org"], "", "--yes");
    ok(&data, &["domain", "remove", "example.org", "--yes"], "");
    assert_eq!(ok(&data, &["domain", "list", "--json"], "").trim(), "[]");
}

#[test]
fn the_queue_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    ok(&data, &["domain", "add", "example.org"], "");
    // A message for a remote recipient, queued as the SMTP server would queue it.
    let id = mailroom_tests::server::queue_for_remote(&data, "alice@example.org", "waiting");

    let list: serde_json::Value =
        serde_json::from_str(&ok(&data, &["queue", "list", "--json"], "")).expect("json");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"][0]["state"], "pending");
    assert!(ok(&data, &["queue", "list"], "").contains("remote delivery is not available yet"));
    assert!(ok(&data, &["queue", "show", &id], "").contains("to far@remote.example"));
    fails(&data, &["queue", "show", "../../etc/passwd"], "", "no message");
    ok(&data, &["queue", "flush"], "");
    fails(&data, &["queue", "delete", &id], "", "--yes");
    ok(&data, &["queue", "delete", &id, "--yes"], "");
    assert_eq!(ok(&data, &["queue", "list", "--json"], "").trim(), "[]");
}
