//! Every admin route against every role, through the real HTTPS server: anonymous, the
//! demo account, a plain user, the admin of another domain, the admin of this domain and
//! the root admin. A role that may not do something gets the login page (anonymous) or
//! 403 with the reason, and the data directory does not change by one byte; a role that
//! may gets the page or its change, written to the audit log. The count of unauthorised
//! successes must be zero. Then a few requests that try to slip out of a domain.

use std::collections::BTreeMap;
use std::path::Path;

use mailroom_tests::server::{Server, queue_for_remote};
use mailroom_tests::web::{Curl, Response};

const THIS: &str = "demo.example";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    Demo,
    User,
    OtherAdmin,
    ThisAdmin,
    Root,
}

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Any admin (what they see is their own).
    AnyAdmin,
    /// An admin of demo.example (or root).
    Domain,
    /// The root admin.
    Root,
}

impl Role {
    const ALL: [Role; 6] =
        [Role::Anonymous, Role::Demo, Role::User, Role::OtherAdmin, Role::ThisAdmin, Role::Root];

    fn login(self) -> Option<(&'static str, &'static str)> {
        match self {
            Role::Anonymous => None,
            Role::Demo => Some(("demo@demo.example", "mailroom-demo")),
            Role::User => Some(("bob@demo.example", "bob-password-1")),
            Role::OtherAdmin => Some(("admin@other.example", "other-admin-password")),
            Role::ThisAdmin => Some(("postmaster@demo.example", "this-admin-password")),
            Role::Root => Some(("root@other.example", "root-admin-password")),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Role::Anonymous => "anon",
            Role::Demo => "demo",
            Role::User => "user",
            Role::OtherAdmin => "other",
            Role::ThisAdmin => "this",
            Role::Root => "root",
        }
    }

    fn may(self, needs: Needs) -> bool {
        match needs {
            Needs::AnyAdmin => self >= Role::OtherAdmin,
            Needs::Domain => self >= Role::ThisAdmin,
            Needs::Root => self == Role::Root,
        }
    }
}

/// A form's fields, made for one role's tag.
type MakeForm = Box<dyn Fn(&str) -> Vec<(String, String)>>;

struct Route {
    method: &'static str,
    path: String,
    needs: Needs,
    /// The form (POST), given the role's tag so each allowed role changes something new.
    form: MakeForm,
}

fn get(path: &str, needs: Needs) -> Route {
    Route { method: "GET", path: path.to_string(), needs, form: Box::new(|_| Vec::new()) }
}

fn post(
    path: &str,
    needs: Needs,
    form: impl Fn(&str) -> Vec<(&'static str, String)> + 'static,
) -> Route {
    Route {
        method: "POST",
        path: path.to_string(),
        needs,
        form: Box::new(move |tag| form(tag).into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    }
}

fn d() -> (&'static str, String) {
    ("d", THIS.to_string())
}

/// Every file of the data directory and its bytes, but for web sessions (a login writes
/// one; nothing an admin route does is kept there).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("inside").to_string_lossy().into_owned();
            if rel == "sessions" {
                continue;
            }
            if path.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn changed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut out: Vec<String> =
        before.iter().filter(|(k, v)| after.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    out.extend(after.keys().filter(|k| !before.contains_key(*k)).cloned());
    out
}

fn audit_lines(data: &Path) -> usize {
    std::fs::read_dir(data.join("audit"))
        .map(|d| {
            d.flatten()
                .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default().lines().count())
                .sum()
        })
        .unwrap_or(0)
}

fn send(curl: &Curl, route: &Route, csrf: &str, tag: &str) -> Response {
    if route.method == "GET" {
        return curl.get(&route.path);
    }
    let mut form = vec![("csrf".to_string(), csrf.to_string())];
    form.extend((route.form)(tag));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    curl.post(&route.path, &pairs)
}

/// What a refusal must look like for `role`: the login page, or 403 naming the reason
/// (so a missing CSRF token cannot pass for a role check).
fn refused(role: Role, r: &Response) -> bool {
    match role {
        Role::Anonymous => r.status == 303 && r.header("location") == Some("/login"),
        _ => {
            r.status == 403
                && ["for administrators", "you do not administer", "for the root admin"]
                    .iter()
                    .any(|why| r.body.contains(why))
        }
    }
}

fn succeeded(route: &Route, r: &Response) -> bool {
    match route.method {
        "GET" => r.status == 200,
        _ => r.status == 303 && r.header("location").is_some_and(|l| l.contains("notice=")),
    }
}

fn cli(server: &Server, args: &[&str]) {
    let out = server.admin(args, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_admin_route_against_every_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, "");
    cli(&server, &["domain", "add", "other.example"]);
    cli(&server, &["domain", "add", "gone.example"]);
    server.add_user("bob@demo.example", "bob-password-1");
    server.add_user("carol@demo.example", "carol-password-1");
    server.add_user("postmaster@demo.example", "this-admin-password");
    server.add_user("admin@other.example", "other-admin-password");
    server.add_user("root@other.example", "root-admin-password");
    for tag in ["this", "root"] {
        server.add_user(&format!("gone-{tag}@demo.example"), "gone-password-1");
        cli(&server, &["alias", "add", &format!("old-{tag}@demo.example"), "bob@demo.example"]);
    }
    cli(&server, &["domain", "admins", THIS, "postmaster@demo.example"]);
    cli(&server, &["domain", "admins", "other.example", "admin@other.example"]);
    cli(&server, &["admins", "root@other.example"]);
    let queued = queue_for_remote(&data, "bob@demo.example", "waiting");
    let queued_too = queue_for_remote(&data, "bob@demo.example", "waiting too");

    let routes = vec![
        get("/admin", Needs::AnyAdmin),
        get("/admin/domain?d=demo.example", Needs::Domain),
        get("/admin/users?d=demo.example", Needs::Domain),
        get("/admin/users?d=demo.example&q=bob&page=1", Needs::Domain),
        get("/admin/user?a=bob%40demo.example", Needs::Domain),
        get("/admin/aliases?d=demo.example", Needs::Domain),
        get("/admin/queue", Needs::Root),
        get(&format!("/admin/queue/show?id={queued}"), Needs::Root),
        get("/admin/audit", Needs::Root),
        post("/admin/domain/limits", Needs::Root, |_| {
            vec![
                d(),
                ("max_users", "1000".into()),
                ("max_aliases", "1000".into()),
                ("max_storage_mb", String::new()),
                ("default_quota_mb", "200".into()),
                ("max_quota_mb", "2000".into()),
            ]
        }),
        post("/admin/domain/admins", Needs::Root, |_| {
            vec![d(), ("admins", "postmaster@demo.example".into())]
        }),
        post("/admin/domain/catch-all", Needs::Domain, |tag| {
            let mode = if tag == "root" { "discard" } else { "bounce" };
            vec![d(), ("mode", mode.into())]
        }),
        post("/admin/domain/spam", Needs::Domain, |tag| {
            vec![
                d(),
                ("block", format!("spam-{tag}.example")),
                ("allow", String::new()),
                ("action", "junk".into()),
                ("tag", String::new()),
                ("users_choose", "1".into()),
            ]
        }),
        post("/admin/domains/add", Needs::Root, |tag| {
            vec![
                ("domain", format!("new-{tag}.example")),
                ("alias_of", String::new()),
                ("max_users", String::new()),
                ("default_quota_mb", String::new()),
            ]
        }),
        post("/admin/domains/remove", Needs::Root, |_| {
            vec![("d", "gone.example".into()), ("confirm", "gone.example".into())]
        }),
        post("/admin/user/add", Needs::Domain, |tag| {
            vec![
                d(),
                ("user", format!("new-{tag}")),
                ("password", format!("a-long-password-{tag}")),
                ("quota_mb", String::new()),
            ]
        }),
        post("/admin/user/quota", Needs::Domain, |tag| {
            vec![("a", "bob@demo.example".into()), ("quota_mb", format!("5{}", tag.len()))]
        }),
        post("/admin/user/services", Needs::Domain, |tag| {
            let mut form = vec![("a", "carol@demo.example".into()), ("webmail", "on".into())];
            if tag == "root" {
                form.push(("pop3", "on".into()));
            }
            form
        }),
        post("/admin/user/password", Needs::Domain, |tag| {
            vec![("a", "carol@demo.example".into()), ("password", format!("reset-{tag}-password"))]
        }),
        post("/admin/user/forward", Needs::Domain, |tag| {
            vec![("a", "carol@demo.example".into()), ("targets", format!("fwd-{tag}@far.example"))]
        }),
        post("/admin/user/remove", Needs::Domain, |tag| {
            let a = format!("gone-{tag}@demo.example");
            vec![("a", a.clone()), ("confirm", a)]
        }),
        post("/admin/alias/add", Needs::Domain, |tag| {
            vec![d(), ("alias", format!("team-{tag}")), ("targets", "bob@demo.example".into())]
        }),
        post("/admin/alias/remove", Needs::Domain, |tag| {
            vec![d(), ("alias", format!("old-{tag}"))]
        }),
        post("/admin/queue/retry", Needs::Root, move |_| vec![("id", queued.clone())]),
        post("/admin/queue/delete", Needs::Root, move |_| vec![("id", queued_too.clone())]),
    ];

    // One browser-like client per role, logged in, with a CSRF token from its own page.
    let clients: Vec<(Role, Curl, String)> = Role::ALL
        .iter()
        .map(|&role| {
            let curl = Curl::new(format!("https://{}", server.https), dir.path().join(role.tag()));
            let csrf = match role.login() {
                None => String::new(),
                Some((user, password)) => {
                    assert_eq!(curl.login(user, password).status, 303, "{role:?} logs in");
                    curl.get("/settings").csrf()
                }
            };
            (role, curl, csrf)
        })
        .collect();

    let mut unauthorised_successes = Vec::new();
    let mut checked = 0;
    for route in &routes {
        for (role, curl, csrf) in &clients {
            let (before, audit_before) = (snapshot(&data), audit_lines(&data));
            let response = send(curl, route, csrf, role.tag());
            let after = snapshot(&data);
            checked += 1;
            let what = format!("{role:?} {} {}", route.method, route.path);
            if role.may(route.needs) {
                assert!(
                    succeeded(route, &response),
                    "{what}: {} {:?}\n{}",
                    response.status,
                    response.header("location"),
                    response.body
                );
                if route.method == "POST" {
                    assert_eq!(audit_lines(&data), audit_before + 1, "{what}: audited");
                    let location = response.header("location").unwrap_or("");
                    let page = curl.get(location);
                    assert_eq!(page.status, 200, "{what}: back to {location}");
                    assert!(page.body.contains("role=\"status\""), "{what}: says so");
                } else {
                    assert!(changed(&before, &after).is_empty(), "{what}: a page changed nothing");
                }
            } else {
                if !refused(*role, &response) {
                    unauthorised_successes.push(format!(
                        "{what}: {} {:?}",
                        response.status,
                        response.header("location")
                    ));
                }
                let diff = changed(&before, &after);
                if !diff.is_empty() {
                    unauthorised_successes.push(format!("{what}: changed {diff:?}"));
                }
            }
        }
    }
    assert_eq!(checked, routes.len() * Role::ALL.len());
    assert!(
        unauthorised_successes.is_empty(),
        "{} unauthorised successes:\n{}",
        unauthorised_successes.len(),
        unauthorised_successes.join("\n")
    );

    // What each admin sees is theirs: the other domain's admin is never shown this one.
    let other = &clients[3];
    let overview = other.1.get("/admin");
    assert!(overview.body.contains("other.example"), "{}", overview.body);
    assert!(!overview.body.contains(THIS), "another domain leaks:\n{}", overview.body);
    let root = &clients[5];
    let audit = root.1.get("/admin/audit");
    for who in ["postmaster@demo.example", "root@other.example"] {
        assert!(audit.body.contains(who), "the audit log names {who}");
    }
    assert!(!audit.body.contains("admin@other.example</td><td>user."), "nothing of theirs");

    // Ways out of one's domain, tried by this domain's admin: all refused, nothing changed.
    let (_, this, csrf) = &clients[4];
    let before = snapshot(&data);
    let tries: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/admin/user/add",
            vec![("d", "other.example"), ("user", "x"), ("password", "p-p-p-p-p-p")],
        ),
        (
            "/admin/user/add",
            vec![("d", "Other.Example"), ("user", "x"), ("password", "p-p-p-p-p-p")],
        ),
        (
            "/admin/user/add",
            vec![("d", THIS), ("user", "x@other.example"), ("password", "p-p-p-p-p-p")],
        ),
        ("/admin/user/add", vec![("d", "demo.example/../other.example"), ("user", "x")]),
        ("/admin/user/password", vec![("a", "admin@other.example"), ("password", "taken-over-1")]),
        ("/admin/user/password", vec![("a", "root@other.example"), ("password", "taken-over-1")]),
        (
            "/admin/user/remove",
            vec![("a", "admin@other.example"), ("confirm", "admin@other.example")],
        ),
        (
            "/admin/alias/add",
            vec![("d", "other.example"), ("alias", "x"), ("targets", "bob@demo.example")],
        ),
        (
            "/admin/alias/add",
            vec![("d", THIS), ("alias", "x@other.example"), ("targets", "a@b.example")],
        ),
        ("/admin/domain/admins", vec![("d", THIS), ("admins", "bob@demo.example")]),
        ("/admin/domain/catch-all", vec![("d", "other.example"), ("mode", "discard")]),
    ];
    for (path, form) in tries {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(form.iter().copied());
        let response = this.post(path, &all);
        let success = response.header("location").is_some_and(|l| l.contains("notice="));
        assert!(!success && response.status != 200, "{path} {form:?}: {}", response.status);
    }
    assert_eq!(changed(&before, &snapshot(&data)), Vec::<String>::new(), "nothing changed");
    // Turning a user's webmail off ends their sessions at once, and their logins.
    let (_, bob_now, _) = &clients[2];
    assert_eq!(bob_now.get("/settings").status, 200, "bob is logged in");
    let off = this.post(
        "/admin/user/services",
        &[("csrf", csrf), ("a", "bob@demo.example"), ("smtp", "1"), ("pop3", "1")],
    );
    assert!(off.header("location").is_some_and(|l| l.contains("notice=")), "{off:?}");
    assert_eq!(bob_now.get("/settings").header("location"), Some("/login"), "session ended");
    assert_ne!(bob_now.login("bob@demo.example", "bob-password-1").status, 303, "no login");
    let on = this.post(
        "/admin/user/services",
        &[
            ("csrf", csrf),
            ("a", "bob@demo.example"),
            ("webmail", "1"),
            ("smtp", "1"),
            ("pop3", "1"),
        ],
    );
    assert!(on.header("location").is_some_and(|l| l.contains("notice=")), "{on:?}");

    // And they still can do their own work: bob's password reset by them works.
    let reset = this.post(
        "/admin/user/password",
        &[("csrf", csrf), ("a", "bob@demo.example"), ("password", "bob-password-2")],
    );
    assert!(reset.header("location").is_some_and(|l| l.contains("notice=")), "{reset:?}");
    let bob = Curl::new(format!("https://{}", server.https), dir.path().join("bob-again"));
    assert_eq!(bob.login("bob@demo.example", "bob-password-2").status, 303);
}
