//! The administration commands that match the admin pages, against a running server:
//! limits, catch-all (user, refuse, discard), another name for a domain, forwards with
//! and without a copy, domain admins and root admins, the domain's spam policy felt at
//! SMTP time (550 5.7.1, Junk, a tagged subject), and the audit log of it all.

use std::time::Duration;

use mailroom_tests::server::{Server, wait_for};

const DEMO: &str = "demo@demo.example";

fn ok(server: &Server, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = server.admin(&all, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    })
}

fn fails(server: &Server, args: &[&str], says: &str) {
    let out = server.admin(args, "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(says), "{args:?}: {err}");
}

#[test]
fn domain_and_user_administration_from_the_command_line_with_an_audit_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    server.add_user("bob@demo.example", "bob-password-1");
    server.add_user("carol@demo.example", "carol-password-1");

    // Limits. A storage limit needs every mailbox to have a quota, and the quotas to fit.
    let limit = ["domain", "limits", "demo.example", "--max-storage", "500000000"];
    fails(&server, &limit, "bob@demo.example, carol@demo.example have no quota");
    for user in ["bob@demo.example", "carol@demo.example"] {
        ok(&server, &["user", "quota", user, "150000000"]);
    }
    let limits = ok(
        &server,
        &["domain", "limits", "demo.example", "--max-users", "3", "--max-storage", "500000000"],
    );
    assert_eq!(limits["config"]["max_users"], 3);
    assert_eq!(limits["config"]["max_storage"], 500_000_000u64);
    fails(&server, &["user", "quota", "bob@demo.example", "300000000"], "would come to");
    let out = server.admin(&["user", "add", "dave@demo.example"], "dave-password-1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 3 users"), "{out:?}");
    fails(&server, &["domain", "limits", "nowhere.example", "--max-users", "1"], "does not exist");

    // Unknown addresses: refused, then delivered to a catch-all, then dropped.
    assert!(server.mail("a@far.example", "nobody@demo.example", "x").starts_with("550 5.1.1"));
    ok(&server, &["domain", "catch-all", "demo.example", "--user", "carol"]);
    assert!(
        server.mail("a@far.example", "nobody@demo.example", "to the catch-all").contains("queued")
    );
    wait_for("the catch-all", Duration::from_secs(20), || {
        server.folder_texts("carol@demo.example", "").len() == 1
    });
    fails(&server, &["domain", "catch-all", "demo.example", "--user", "ghost"], "is not a user");
    ok(&server, &["domain", "catch-all", "demo.example", "--discard"]);
    assert!(
        server.mail("a@far.example", "nobody@demo.example", "into the void").contains("queued")
    );
    wait_for("the queue to empty", Duration::from_secs(20), || server.queued() == 0);
    assert_eq!(
        server.folder_texts("carol@demo.example", "").len(),
        1,
        "a discarded message was delivered"
    );
    ok(&server, &["domain", "catch-all", "demo.example", "--bounce"]);

    // Another name for the domain.
    ok(&server, &["domain", "add-alias", "demo.test", "demo.example"]);
    assert!(server.mail("a@far.example", "bob@demo.test", "via the other name").contains("queued"));
    wait_for("delivery via the domain alias", Duration::from_secs(20), || {
        server.folder_texts("bob@demo.example", "").len() == 1
    });

    // Forwards: Bob's mail also to Carol; then only to Carol.
    let forward = ok(&server, &["user", "forward", "bob@demo.example", "carol"]);
    assert_eq!(forward["forward"][0], "carol@demo.example");
    assert!(server.mail("a@far.example", "bob@demo.example", "copied").contains("queued"));
    wait_for("the copy and the forward", Duration::from_secs(20), || {
        server.folder_texts("bob@demo.example", "").len() == 2
            && server.folder_texts("carol@demo.example", "").len() == 2
    });
    ok(&server, &["user", "forward", "bob@demo.example", "carol", "--only"]);
    assert!(server.mail("a@far.example", "bob@demo.example", "forwarded only").contains("queued"));
    wait_for("the forward", Duration::from_secs(20), || {
        server.folder_texts("carol@demo.example", "").len() == 3
    });
    assert_eq!(server.folder_texts("bob@demo.example", "").len(), 2, "a copy stayed with --only");
    ok(&server, &["user", "forward", "bob@demo.example"]);
    fails(
        &server,
        &["user", "forward", "bob@demo.example", "a%b@x.example"],
        "routes or quotes mail",
    );

    // Admins.
    let admins = ok(&server, &["domain", "admins", "demo.example", "bob@demo.example"]);
    assert_eq!(admins["admins"][0], "bob@demo.example");
    fails(&server, &["domain", "admins", "demo.example", "ghost@demo.example"], "does not exist");
    let root = ok(&server, &["admins", "carol@demo.example"]);
    assert_eq!(root["root"][0], "carol@demo.example");
    assert_eq!(
        ok(&server, &["admins"])["root"][0],
        "carol@demo.example",
        "listing leaves the list alone"
    );

    // The domain's spam policy at SMTP time.
    ok(
        &server,
        &[
            "domain",
            "spam",
            "demo.example",
            "--block",
            "spam.example",
            "--block",
            "junk@bulk.example",
            "--allow",
            "ok.spam.example",
            "--action",
            "reject",
        ],
    );
    let refused = server.mail("x@spam.example", DEMO, "buy now");
    assert!(refused.starts_with("550 5.7.1") && refused.contains("spam.example"), "{refused}");
    let refused = server.mail("x@mail.spam.example", DEMO, "buy now");
    assert!(refused.starts_with("550 5.7.1"), "subdomains are blocked too: {refused}");
    ok(&server, &["domain", "spam", "demo.example", "--block", "spam.example", "--action", "junk"]);
    assert!(server.mail("x@spam.example", DEMO, "into junk").contains("queued"));
    wait_for("delivery into Junk", Duration::from_secs(20), || {
        server.folder_texts("demo@demo.example", "Junk").len() == 1
    });
    ok(
        &server,
        &[
            "domain",
            "spam",
            "demo.example",
            "--block",
            "spam.example",
            "--action",
            "tag",
            "--tag",
            "[JUNK?]",
        ],
    );
    assert!(server.mail("x@spam.example", DEMO, "tag me").contains("queued"));
    wait_for("the tagged delivery", Duration::from_secs(20), || {
        server.folder_texts("demo@demo.example", "").len() == 1
    });
    assert!(
        server.folder_texts("demo@demo.example", "")[0].contains("Subject: [JUNK?] tag me"),
        "{:?}",
        server.folder_texts("demo@demo.example", "")
    );
    fails(
        &server,
        &["domain", "spam", "demo.example", "--block", "not a domain"],
        "neither an address nor a domain",
    );

    // Everything above is in the audit log, newest first.
    let events = ok(&server, &["audit", "--limit", "100"]);
    let actions: Vec<&str> =
        events.as_array().expect("events").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "user.add",
        "domain.limits",
        "domain.catch-all",
        "domain.add-alias",
        "user.forward",
        "domain.admins",
        "admins.root",
        "domain.spam",
    ] {
        assert!(actions.contains(&action), "{action} missing from the audit log: {actions:?}");
    }
    assert_eq!(actions[0], "domain.spam", "newest first");
    assert!(events[0]["who"].as_str().is_some_and(|w| w.starts_with("cli:")));
}

#[test]
fn removed_domains_are_kept_for_recovery_then_purged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(&dir.path().join("data"), "[admin]\nkeep_removed_days = 30");
    ok(&server, &["domain", "add", "recent.example"]);
    server.add_user("ann@recent.example", "ann-password-1");
    let removed = ok(&server, &["domain", "remove", "recent.example", "--yes"]);
    let kept = std::path::PathBuf::from(removed["kept_at"].as_str().expect("kept_at"));
    assert!(kept.join("users/ann/Maildir/cur").is_dir(), "{kept:?}");
    // One removed long ago (its name carries the time: 2001).
    let ancient = server.data.join("removed/ancient.example.1000000000.M1P1Q1.old-host");
    std::fs::create_dir_all(ancient.join("users/x/Maildir/cur")).expect("ancient copy");

    // At start and every hour the server deletes what is past the configured time.
    server.terminate(Duration::from_secs(30));
    server.spawn();
    wait_for("the old copy to go", Duration::from_secs(20), || !ancient.exists());
    assert!(kept.join("users/ann/Maildir/cur").is_dir(), "the recent copy stays");

    // Recovery is moving it back.
    std::fs::rename(&kept, server.data.join("domains/recent.example")).expect("restore");
    let users = ok(&server, &["user", "list", "recent.example"]);
    assert_eq!(users[0]["address"], "ann@recent.example", "{users}");
}
