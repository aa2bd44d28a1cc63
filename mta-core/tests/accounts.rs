//! The accounts directory on real files: domains, users, aliases, resolution, logins, and
//! a second `Directory` (as another process would) seeing changes without a restart.

use mta_core::accounts::{Destination, Directory, DomainConfig, Error, Login, Resolution, Service};
use mta_core::datadir::DataDir;
use mta_core::names::{Address, Domain, LocalPart};

fn addr(s: &str) -> Address {
    Address::parse(s).expect("address")
}

fn setup() -> (tempfile::TempDir, Directory) {
    let dir = tempfile::tempdir().expect("tempdir");
    let directory = Directory::new(DataDir::create(dir.path()).expect("data dir"));
    let example = Domain::parse("example.org").expect("domain");
    directory.add_domain(&example, &DomainConfig::default()).expect("add domain");
    for user in ["alice", "bob"] {
        directory.add_user(&addr(&format!("{user}@example.org")), "password1", None).expect("user");
    }
    (dir, directory)
}

fn found(directory: &Directory, rcpt: &str) -> Vec<String> {
    match directory.resolve(rcpt).expect("resolve") {
        Resolution::Found(list) => list.iter().map(|d| d.to_string()).collect(),
        other => panic!("{rcpt}: {other:?}"),
    }
}

#[test]
fn users_aliases_tags_and_catch_all_resolve() {
    let (_dir, directory) = setup();
    assert_eq!(found(&directory, "alice@example.org"), ["alice@example.org"]);
    assert_eq!(found(&directory, "Alice+lists@EXAMPLE.org"), ["alice@example.org"]);
    directory
        .add_alias(
            &addr("team@example.org"),
            &["alice".into(), "bob".into(), "x@remote.net".into()],
        )
        .expect("alias");
    directory.add_alias(&addr("all@example.org"), &["team".into(), "alice".into()]).expect("alias");
    assert_eq!(
        found(&directory, "all@example.org"),
        ["alice@example.org", "bob@example.org", "x@remote.net"]
    );
    let Resolution::Found(list) = directory.resolve("team@example.org").expect("resolve") else {
        panic!("team not found")
    };
    assert!(matches!(&list[2], Destination::Remote(_)));
    assert_eq!(directory.resolve("nobody@example.org").expect("resolve"), Resolution::Unknown);
    assert_eq!(directory.resolve("alice@example.net").expect("resolve"), Resolution::NotLocal);

    let mut config = (*directory
        .domain(&Domain::parse("example.org").expect("d"))
        .expect("read")
        .expect("exists"))
    .clone();
    config.catch_all = Some(LocalPart::parse("bob").expect("local"));
    directory.set_domain(&Domain::parse("example.org").expect("d"), &config).expect("set");
    assert_eq!(found(&directory, "nobody@example.org"), ["bob@example.org"]);
}

#[test]
fn alias_loops_end_and_names_do_not_clash() {
    let (_dir, directory) = setup();
    directory.add_alias(&addr("a@example.org"), &["b".into()]).expect("alias");
    directory.add_alias(&addr("b@example.org"), &["a".into(), "alice".into()]).expect("alias");
    assert_eq!(found(&directory, "a@example.org"), ["alice@example.org"]);
    assert!(matches!(
        directory.add_alias(&addr("bob@example.org"), &["alice".into()]),
        Err(Error::Taken(..))
    ));
    assert!(matches!(
        directory.add_user(&addr("a@example.org"), "password1", None),
        Err(Error::Taken(..))
    ));
    directory.remove_alias(&addr("b@example.org"), &["alice".into()]).expect("remove target");
    assert_eq!(directory.resolve("a@example.org").expect("resolve"), Resolution::Unknown);
}

#[test]
fn relay_tricks_never_resolve_to_a_mailbox() {
    let (_dir, directory) = setup();
    for trick in [
        "alice%example.org@example.org",
        "example.net!alice@example.org",
        "\"alice\"@example.org",
        "@example.org:alice@example.net",
        "alice@example.org.",
        "alice@[127.0.0.1]",
        "alice@example.org@example.net",
        "alice",
        "../alice@example.org",
        "alice@../example.org",
    ] {
        let r = directory.resolve(trick).expect("resolve");
        assert!(!matches!(r, Resolution::Found(_)), "{trick} resolved to {r:?}");
    }
}

#[test]
fn limits_quota_and_services_are_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let directory = Directory::new(DataDir::create(dir.path()).expect("data dir"));
    let small = Domain::parse("small.example").expect("domain");
    let config = DomainConfig {
        max_users: 1,
        max_aliases: 1,
        default_quota: 1000,
        max_quota: 5000,
        ..DomainConfig::default()
    };
    directory.add_domain(&small, &config).expect("add");
    assert!(matches!(directory.add_domain(&small, &config), Err(Error::DomainExists(_))));
    let a = addr("a@small.example");
    assert_eq!(directory.add_user(&a, "password1", None).expect("user").quota, 1000);
    assert!(matches!(
        directory.add_user(&addr("b@small.example"), "password1", None),
        Err(Error::Limit { .. })
    ));
    assert!(matches!(directory.set_quota(&a, 6000), Err(Error::QuotaAboveMax { .. })));
    directory.set_quota(&a, 4000).expect("quota");
    let status = mta_core::maildir::quota::status(&directory.maildir(&a))
        .expect("status")
        .expect("has quota");
    assert_eq!(status.limit.bytes, Some(4000));
    directory.add_alias(&addr("x@small.example"), &["a".into()]).expect("alias");
    assert!(matches!(
        directory.add_alias(&addr("y@small.example"), &["a".into()]),
        Err(Error::Limit { .. })
    ));

    assert_eq!(
        directory.login("a@small.example", b"password1", Service::Pop3).expect("login"),
        Login::Granted(a.clone())
    );
    assert_eq!(
        directory.login("a@small.example", b"password2", Service::Pop3).expect("login"),
        Login::Refused
    );
    assert_eq!(
        directory.login("zz@small.example", b"password1", Service::Pop3).expect("login"),
        Login::Refused
    );
    assert_eq!(
        directory.login("not an address", b"password1", Service::Pop3).expect("login"),
        Login::Refused
    );
    directory.set_service(&a, Service::Pop3, false).expect("disable");
    assert_eq!(
        directory.login("a@small.example", b"password1", Service::Pop3).expect("login"),
        Login::Disabled(a.clone())
    );
    assert_eq!(
        directory.login("a@small.example", b"password1", Service::Smtp).expect("login"),
        Login::Granted(a.clone())
    );

    let aside = directory.remove_user(&a).expect("remove");
    assert!(aside.join("Maildir/cur").is_dir(), "removed user's mail is kept");
    assert_eq!(directory.resolve("a@small.example").expect("resolve"), Resolution::Unknown);
    let aside = directory.remove_domain(&small).expect("remove domain");
    assert!(aside.join("domain.toml").is_file());
    assert_eq!(directory.resolve("x@small.example").expect("resolve"), Resolution::NotLocal);
}

#[test]
fn another_process_sees_changes_without_a_restart() {
    let (dir, directory) = setup();
    let other = Directory::new(DataDir::open(dir.path()).expect("open"));
    assert_eq!(other.resolve("carol@example.org").expect("resolve"), Resolution::Unknown);
    directory.add_user(&addr("carol@example.org"), "password1", None).expect("add");
    assert_eq!(found(&other, "carol@example.org"), ["carol@example.org"]);
    assert_eq!(
        other.login("carol@example.org", b"password1", Service::Smtp).expect("login"),
        Login::Granted(addr("carol@example.org"))
    );
    directory.set_password(&addr("carol@example.org"), "password2").expect("passwd");
    assert_eq!(
        other.login("carol@example.org", b"password1", Service::Smtp).expect("login"),
        Login::Refused
    );
    directory.add_alias(&addr("c@example.org"), &["carol".into()]).expect("alias");
    assert_eq!(found(&other, "c@example.org"), ["carol@example.org"]);
    // A hand edit of the aliases file, as an operator would make it.
    std::fs::write(dir.path().join("domains/example.org/aliases"), "c: bob\n").expect("edit");
    assert_eq!(found(&other, "c@example.org"), ["bob@example.org"]);
}

#[test]
fn forwards_domain_aliases_discard_and_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let directory = Directory::new(DataDir::create(dir.path()).expect("data dir"));
    let main = Domain::parse("main.example").expect("domain");
    let other = Domain::parse("other.example").expect("domain");
    directory.add_domain(&main, &DomainConfig::default()).expect("main");
    let alias_domain = DomainConfig { alias_of: Some(main.clone()), ..DomainConfig::default() };
    directory.add_domain(&other, &alias_domain).expect("other");
    for user in ["ann", "bob"] {
        directory
            .add_user(&addr(&format!("{user}@main.example")), "password1", None)
            .expect("user");
    }
    let ann = addr("ann@main.example");
    let found = |r: &str| match directory.resolve(r).expect("resolve") {
        Resolution::Found(list) => list.iter().map(ToString::to_string).collect::<Vec<_>>(),
        other => vec![format!("{other:?}")],
    };
    assert_eq!(found("ann@other.example"), ["ann@main.example"], "another name of the domain");
    assert_eq!(found("nobody@main.example"), ["Unknown"]);
    // A forward with a copy kept, then without.
    directory
        .set_forward(&ann, &["bob".into(), "far@elsewhere.example".into()], false)
        .expect("forward");
    assert_eq!(
        found("ann@main.example"),
        ["ann@main.example", "bob@main.example", "far@elsewhere.example"]
    );
    directory
        .set_forward(&ann, &["far@elsewhere.example".into(), "ann".into()], true)
        .expect("forward only");
    assert_eq!(
        found("ann@main.example"),
        ["far@elsewhere.example"],
        "a forward to oneself is dropped"
    );
    assert!(directory.set_forward(&ann, &["a%b@x.example".into()], false).is_err());
    directory.set_forward(&ann, &[], true).expect("off");
    assert_eq!(
        found("ann@main.example"),
        ["ann@main.example"],
        "no forward: forward-only means nothing"
    );
    // Loops end.
    let bob = addr("bob@main.example");
    directory.set_forward(&ann, &["bob".into()], true).expect("a to b");
    directory.set_forward(&bob, &["ann".into()], true).expect("b to a");
    assert!(matches!(
        directory.resolve("ann@main.example").expect("resolve"),
        Resolution::Unknown | Resolution::Found(_)
    ));
    directory.set_forward(&bob, &[], false).expect("off");
    // Discarding unknown addresses.
    let mut config = (*directory.domain(&main).expect("read").expect("there")).clone();
    config.discard_unknown = true;
    directory.set_domain(&main, &config).expect("set");
    assert_eq!(directory.resolve("nobody@main.example").expect("resolve"), Resolution::Discard);
    // Roles.
    assert!(!directory.roles(&ann).expect("roles").is_admin());
    directory.set_domain_admins(&main, std::slice::from_ref(&ann)).expect("admins");
    let roles = directory.roles(&ann).expect("roles");
    assert!(roles.can_admin(&main) && !roles.can_admin(&other) && !roles.root);
    assert!(
        directory.set_domain_admins(&main, &[addr("ghost@main.example")]).is_err(),
        "admins must exist"
    );
    directory.set_root_admins(std::slice::from_ref(&bob)).expect("root");
    let roles = directory.roles(&bob).expect("roles");
    assert!(roles.root && roles.can_admin(&other));
}

#[test]
fn quotas_together_stay_within_the_domain_storage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let directory = Directory::new(DataDir::create(dir.path()).expect("data dir"));
    let plan = Domain::parse("plan.example").expect("domain");
    let config = DomainConfig { max_storage: 3000, default_quota: 1000, ..DomainConfig::default() };
    directory.add_domain(&plan, &config).expect("add");
    directory.add_user(&addr("a@plan.example"), "password1", None).expect("a");
    directory.add_user(&addr("b@plan.example"), "password1", Some(1500)).expect("b");
    let err = directory.add_user(&addr("c@plan.example"), "password1", None).expect_err("over");
    assert!(err.to_string().contains("may hold 3000 bytes in all"), "{err}");
    directory.add_user(&addr("c@plan.example"), "password1", Some(500)).expect("fits");
    assert!(directory.set_quota(&addr("a@plan.example"), 1001).is_err());
    directory.set_quota(&addr("a@plan.example"), 900).expect("smaller");
    assert!(
        directory.set_quota(&addr("c@plan.example"), 0).is_err(),
        "no unlimited mailbox in a capped domain"
    );
}
