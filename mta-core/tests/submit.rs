//! In-process submission (the webmail's Send) against a real queue and scheduler: the
//! sender must be the user's, recipients are checked as at RCPT, bounds hold, and what
//! is queued arrives in the Maildir with its Received line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mta_core::accounts::{Directory, DomainConfig};
use mta_core::datadir::DataDir;
use mta_core::names::{Address, Domain};
use mta_core::queue::{Queue, scheduler};
use mta_core::smtp::SmtpConfig;
use mta_core::submit::{SubmitError, Submitter};

fn address(s: &str) -> Address {
    Address::parse(s).expect("address")
}

#[test]
fn submission_checks_like_smtp_and_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    let directory = Arc::new(Directory::new(data.clone()));
    directory
        .add_domain(&Domain::parse("example.org").expect("d"), &DomainConfig::default())
        .expect("domain");
    for user in ["alice", "bob"] {
        directory
            .add_user(&address(&format!("{user}@example.org")), "password1", None)
            .expect("user");
    }
    directory.add_alias(&address("info@example.org"), &["alice".into()]).expect("alias");
    directory
        .add_alias(&address("team@example.org"), &["bob".into(), "alice".into()])
        .expect("alias");
    let queue = Queue::open(data.queue("test")).expect("queue");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let (handle, _task) = runtime.block_on(async {
        scheduler::spawn(queue.clone(), Arc::clone(&directory), "test.example".into(), shutdown)
    });
    let config =
        SmtpConfig { max_recipients: 3, max_message_size: 10_000, ..SmtpConfig::default() };
    let submitter = Submitter {
        directory: Arc::clone(&directory),
        queue: queue.clone(),
        scheduler: handle,
        config,
    };
    let alice = address("alice@example.org");

    let mut own = submitter.own_addresses(&alice);
    own.sort();
    assert_eq!(own, vec![alice.clone(), address("info@example.org"), address("team@example.org")]);

    let message = "From: Alice <info@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello Bob,\r\nsee you.\r\n";
    let submit = |from: &str, to: &[&str], text: &str| {
        let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
        submitter.submit(&alice, &address(from), &to, &mut text.as_bytes(), "webmail ([192.0.2.7])")
    };
    assert_eq!(
        submit("bob@example.org", &["bob@example.org"], message),
        Err(SubmitError::NotYourAddress("bob@example.org".into()))
    );
    let unknown =
        submit("alice@example.org", &["nobody@example.org"], message).expect_err("unknown");
    assert!(
        matches!(&unknown, SubmitError::Recipient { reason, temporary: false, .. } if reason.contains("no such user")),
        "{unknown:?}"
    );
    assert_eq!(submit("alice@example.org", &[], message), Err(SubmitError::NoRecipients));
    assert_eq!(
        submit(
            "alice@example.org",
            &["a@x.example", "b@x.example", "c@x.example", "d@x.example"],
            message
        ),
        Err(SubmitError::TooManyRecipients(3))
    );
    let big = format!("Subject: big\r\n\r\n{}", "x".repeat(20_000));
    assert!(matches!(
        submit("alice@example.org", &["bob@example.org"], &big),
        Err(SubmitError::TooBig { max: 10_000, .. })
    ));
    assert_eq!(queue.ids().expect("ids").len(), 0, "nothing refused was queued");

    let id = submit("info@example.org", &["bob@example.org", "far@elsewhere.example"], message)
        .expect("queued");
    let entry = queue.load(&id).expect("entry");
    assert_eq!(entry.envelope.sender, "info@example.org");
    assert_eq!(entry.envelope.recipients.len(), 2);
    let bob_new = dir.path().join("domains/example.org/users/bob/Maildir/new");
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivered = loop {
        let files: Vec<_> = std::fs::read_dir(&bob_new).expect("new/").flatten().collect();
        if let Some(file) = files.first() {
            break std::fs::read_to_string(file.path()).expect("read");
        }
        assert!(Instant::now() < deadline, "not delivered");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(delivered.contains("Received: from webmail ([192.0.2.7])"), "{delivered}");
    assert!(delivered.contains("(authenticated as alice@example.org)"), "{delivered}");
    assert!(delivered.ends_with("Hello Bob,\nsee you.\n"), "{delivered:?}");
    assert!(!delivered.contains('\r'));
}
