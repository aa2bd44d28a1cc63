//! The queue and local delivery on real files: enqueue, deliver (fan-out, Delivered-To,
//! loops, quota deferral), bounces, recovery of what was never acknowledged.

use std::fs;

use mta_core::accounts::{Destination, Directory, DomainConfig, Resolution};
use mta_core::datadir::DataDir;
use mta_core::maildir::Maildir;
use mta_core::names::{Address, Domain, RemoteAddress};
use mta_core::queue::{Envelope, Queue, Recipient, RecipientStatus, scheduler};

fn setup() -> (tempfile::TempDir, Directory, Queue) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    let directory = Directory::new(data.clone());
    directory
        .add_domain(&Domain::parse("example.org").expect("d"), &DomainConfig::default())
        .expect("domain");
    for user in ["alice", "bob", "carol"] {
        directory
            .add_user(
                &Address::parse(&format!("{user}@example.org")).expect("a"),
                "password1",
                None,
            )
            .expect("user");
    }
    let queue = Queue::open(data.queue("test")).expect("queue");
    (dir, directory, queue)
}

fn enqueue(
    directory: &Directory,
    queue: &Queue,
    sender: &str,
    rcpts: &[&str],
    message: &str,
) -> String {
    let mut recipients = Vec::new();
    for rcpt in rcpts {
        let list = match directory.resolve(rcpt).expect("resolve") {
            Resolution::Found(list) => list,
            Resolution::NotLocal => {
                vec![Destination::Remote(RemoteAddress::parse(rcpt).expect("remote"))]
            }
            Resolution::Unknown | Resolution::Discard => panic!("{rcpt} unknown"),
        };
        for destination in list {
            recipients.push(Recipient { destination, original: rcpt.to_string() });
        }
    }
    let envelope = Envelope {
        sender: sender.into(),
        received: mta_core::queue::now(),
        client: "127.0.0.1 test".into(),
        recipients,
    };
    let mut incoming = queue.begin(&envelope).expect("begin");
    incoming.write(message.as_bytes()).expect("write");
    incoming.commit().expect("commit")
}

fn inbox(directory: &Directory, user: &str) -> Vec<String> {
    let maildir =
        Maildir::open(directory.maildir(&Address::parse(user).expect("a"))).expect("maildir");
    let listing = maildir.inbox().list().expect("list");
    let folder = maildir.inbox();
    listing.files.iter().map(|f| fs::read_to_string(folder.file_path(f)).expect("read")).collect()
}

#[test]
fn one_recipient_gets_delivered_to_and_the_queue_empties() {
    let (_dir, directory, queue) = setup();
    let id = enqueue(
        &directory,
        &queue,
        "x@remote.net",
        &["alice@example.org"],
        "Subject: hi\n\nbody\n",
    );
    assert_eq!(queue.ids().expect("ids"), vec![id.clone()]);
    scheduler::process(&queue, &directory, "mx.test", &id);
    assert_eq!(
        inbox(&directory, "alice@example.org"),
        vec!["Delivered-To: alice@example.org\nSubject: hi\n\nbody\n"]
    );
    assert!(queue.ids().expect("ids").is_empty());
}

#[test]
fn fan_out_shares_one_inode_and_remote_recipients_stay_queued() {
    let (_dir, directory, queue) = setup();
    let id = enqueue(
        &directory,
        &queue,
        "x@remote.net",
        &["alice@example.org", "bob@example.org", "far@remote.net"],
        "Subject: all\n\nb\n",
    );
    scheduler::process(&queue, &directory, "mx.test", &id);
    let entry = queue.load(&id).expect("still queued for the remote recipient");
    assert!(matches!(entry.status[0], RecipientStatus::Delivered { .. }));
    assert!(matches!(entry.status[1], RecipientStatus::Delivered { .. }));
    assert_eq!(entry.status[2], RecipientStatus::Pending);
    assert!(matches!(&entry.envelope.recipients[2].destination, Destination::Remote(_)));
    assert_eq!(inbox(&directory, "bob@example.org"), vec!["Subject: all\n\nb\n"]);
    use std::os::unix::fs::MetadataExt;
    let first = |u: &str| {
        let m = Maildir::open(directory.maildir(&Address::parse(u).expect("a"))).expect("m");
        let l = m.inbox().list().expect("l");
        fs::metadata(m.inbox().file_path(&l.files[0])).expect("meta").ino()
    };
    assert_eq!(first("alice@example.org"), first("bob@example.org"), "not hard-linked");
    // A second round delivers nothing twice.
    scheduler::process(&queue, &directory, "mx.test", &id);
    assert_eq!(inbox(&directory, "alice@example.org").len(), 1);
}

#[test]
fn a_loop_bounces_to_the_sender_and_never_to_the_null_sender() {
    let (_dir, directory, queue) = setup();
    let looping = "Delivered-To: alice@example.org\nSubject: loop\n\nb\n";
    let id = enqueue(&directory, &queue, "bob@example.org", &["alice@example.org"], looping);
    scheduler::process(&queue, &directory, "mx.test", &id);
    assert!(inbox(&directory, "alice@example.org").is_empty());
    let bounces = inbox(&directory, "bob@example.org");
    assert_eq!(bounces.len(), 1, "one bounce to the sender");
    assert!(bounces[0].contains("multipart/report; report-type=delivery-status"), "{}", bounces[0]);
    assert!(bounces[0].contains("Status: 5.4.6"), "{}", bounces[0]);
    assert!(bounces[0].contains("Subject: loop"), "original headers quoted");
    assert!(queue.ids().expect("ids").is_empty());

    let id = enqueue(&directory, &queue, "", &["alice@example.org"], looping);
    scheduler::process(&queue, &directory, "mx.test", &id);
    assert_eq!(inbox(&directory, "bob@example.org").len(), 1, "bounced to <>");
    assert!(queue.ids().expect("ids").is_empty());
}

#[test]
fn over_quota_is_deferred_then_delivered_when_space_is_freed() {
    let (_dir, directory, queue) = setup();
    let carol = Address::parse("carol@example.org").expect("a");
    directory.set_quota(&carol, 50).expect("quota");
    let id = enqueue(
        &directory,
        &queue,
        "x@remote.net",
        &["carol@example.org"],
        &format!("Subject: big\n\n{}\n", "x".repeat(100)),
    );
    scheduler::process(&queue, &directory, "mx.test", &id);
    let entry = queue.load(&id).expect("still queued");
    assert!(
        matches!(&entry.status[0], RecipientStatus::Deferred { attempts: 1, reason, .. } if reason.starts_with("4.2.2")),
        "{:?}",
        entry.status
    );
    directory.set_quota(&carol, 0).expect("no quota");
    queue.make_due(&id).expect("flush");
    scheduler::process(&queue, &directory, "mx.test", &id);
    assert_eq!(inbox(&directory, "carol@example.org").len(), 1);
    assert!(queue.ids().expect("ids").is_empty());
}

#[test]
fn recovery_drops_what_was_never_acknowledged() {
    let (_dir, directory, queue) = setup();
    let envelope =
        Envelope { sender: String::new(), received: 0, client: String::new(), recipients: vec![] };
    // Left by a crashed earlier process (another pid in its id).
    fs::write(queue.dir().join("tmp/1700000000.M1P1Q1"), "Subject: half").expect("partial");
    // Being received by this very process while it recovers: not a leftover.
    let mut in_flight = queue.begin(&envelope).expect("begin");
    in_flight.write(b"Subject: on its way").expect("write");
    let id = enqueue(&directory, &queue, "x@remote.net", &["alice@example.org"], "Subject: ok\n\n");
    fs::write(queue.dir().join("status/123.M1P1Q1"), "orphan").expect("orphan");
    assert_eq!(queue.recover().expect("recover"), vec![id]);
    let left: Vec<_> = fs::read_dir(queue.dir().join("tmp"))
        .expect("tmp")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].to_string_lossy(), in_flight.id());
    assert_eq!(fs::read_dir(queue.dir().join("status")).expect("status").count(), 0);
    in_flight.commit().expect("the message in flight is still whole");
}
