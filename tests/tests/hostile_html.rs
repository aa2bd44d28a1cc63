//! Hostile mail in a real browser: every message of `tests/corpus/` (200 HTML bodies
//! in `hostile-html.txt`, whole messages with attachments, hostile headers and
//! encodings in `hostile/`) is delivered over SMTP and opened in headless Chromium —
//! the message page, the same page with remote images shown, and for the whole
//! messages also all headers, the raw source and every part. After each page: no
//! dialog opened, no request left for another origin (the browser's proxy refuses and
//! records them), the page is still the page, and the DOM the browser built holds
//! nothing that runs or loads (no event handlers, no script-bearing elements, no
//! javascript:/data: links). A control page first proves that each of those detectors
//! does go off.

use std::collections::BTreeMap;
use std::time::Duration;

use mailroom_tests::browser::Browser;
use mailroom_tests::server::{Server, Smtp, wait_for};
use serde_json::Value;

const DEMO: &str = "demo@demo.example";
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");

/// The corpus: case name → the message as sent (CRLF line ends, an `X-Hostile-Case`
/// header first so the test can find it in the Maildir).
fn corpus() -> BTreeMap<String, String> {
    let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut cases = BTreeMap::new();
    let text = std::fs::read_to_string(format!("{CORPUS}/hostile-html.txt")).expect("corpus");
    let mut current: Option<(String, String)> = None;
    let mut finish = |case: Option<(String, String)>| {
        if let Some((name, body)) = case {
            let message = format!(
                "X-Hostile-Case: {name}\nFrom: Mallory <mallory@evil.example>\nTo: {DEMO}\n\
                 Subject: hostile {name}\nDate: Fri, 4 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n\
                 Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}"
            );
            assert!(cases.insert(name.clone(), crlf(&message)).is_none(), "{name} twice");
        }
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            finish(current.take());
            current = Some((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    finish(current.take());
    let html_cases = cases.len();
    let mut files: Vec<_> = std::fs::read_dir(format!("{CORPUS}/hostile"))
        .expect("corpus/hostile")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_stem().expect("name").to_string_lossy().into_owned();
        let message = std::fs::read_to_string(&path).expect("eml");
        let message = format!("X-Hostile-Case: eml-{name}\n{message}");
        assert!(cases.insert(format!("eml-{name}"), crlf(&message)).is_none());
    }
    assert!(
        html_cases >= 150 && cases.len() > html_cases,
        "the corpus is too small: {}",
        cases.len()
    );
    cases
}

/// Case name → unique name of its message in the INBOX.
fn delivered(server: &Server, count: usize) -> BTreeMap<String, String> {
    wait_for("the deliveries", Duration::from_secs(60), || server.inbox(DEMO).len() == count);
    let mut out = BTreeMap::new();
    for path in server.inbox(DEMO) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("message")).into_owned();
        let case = text
            .lines()
            .find_map(|l| l.strip_prefix("X-Hostile-Case: "))
            .expect("case header")
            .trim()
            .to_string();
        let file = path.file_name().expect("file").to_string_lossy().into_owned();
        let unique = file.split(':').next().expect("unique").to_string();
        out.insert(case, unique);
    }
    assert_eq!(out.len(), count);
    out
}

/// Looks at the DOM the browser built. `remote_images`: http(s) image sources are
/// allowed (the user asked for them).
const DOM_CHECK: &str = r#"
const remote = arguments.length > 0 && arguments[0];
const bad = [];
const here = location.origin;
if (document.querySelector('[data-pwned]')) bad.push('data-pwned marker');
if (!document.title.endsWith(' · Mailroom') || document.title.includes('pwned')) bad.push('title: ' + document.title);
for (const el of document.querySelectorAll('script, iframe, frame, frameset, object, embed, applet, base, portal, svg, math, template, noscript, style, meta[http-equiv], link:not([rel=stylesheet][href="/static/style.css"])')) {
  bad.push('element ' + el.outerHTML.slice(0, 120));
}
const mail = document.querySelector('article.body');
if (mail) {
  for (const el of mail.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const n = attr.name.toLowerCase();
      if (n.startsWith('on') || ['style', 'srcdoc', 'formaction', 'action', 'background', 'srcset', 'poster', 'ping', 'form', 'xlink:href', 'dynsrc', 'lowsrc', 'usemap'].includes(n)) {
        bad.push('attribute ' + n + ' on ' + el.tagName);
      }
    }
    if (['FORM', 'INPUT', 'BUTTON', 'SELECT', 'TEXTAREA', 'AREA', 'MAP', 'VIDEO', 'AUDIO', 'SOURCE', 'PICTURE'].includes(el.tagName)) bad.push('element ' + el.tagName);
    if (el.tagName === 'A' && el.hasAttribute('href') && !['http:', 'https:', 'mailto:'].includes(el.protocol)) bad.push('link ' + el.getAttribute('href'));
    if (el.tagName === 'IMG') {
      const src = el.getAttribute('src') || '';
      const ok = src === '' || (el.src.startsWith(here + '/part?')) || (remote && /^https?:/.test(el.src));
      if (!ok) bad.push('image ' + src);
    }
  }
}
return bad;
"#;

struct Checker<'a> {
    b: &'a Browser,
    failures: Vec<String>,
    pages: usize,
}

impl Checker<'_> {
    /// Opens `path` and checks it; `remote_images` as in [`DOM_CHECK`]. A download
    /// leaves the browser on the page it was on, which is checked instead.
    fn visit(&mut self, case: &str, path: &str, remote_images: bool) {
        self.b.goto(path);
        self.pages += 1;
        let before = self.b.path();
        if let Some(text) = self.b.dialog() {
            self.failures.push(format!("{case} {path}: a dialog opened: {text}"));
            return;
        }
        let bad = self.b.eval_with(DOM_CHECK, vec![Value::Bool(remote_images)]);
        for finding in bad.as_array().into_iter().flatten() {
            self.failures.push(format!("{case} {path}: {}", finding.as_str().unwrap_or_default()));
        }
        for request in self.b.proxy.take_refused() {
            let image = request.contains("img.evil.example");
            if !(remote_images && image) {
                self.failures.push(format!("{case} {path}: a request left: {request}"));
            }
        }
        if self.b.path() != before {
            self.failures.push(format!("{case} {path}: navigated to {}", self.b.path()));
        }
    }
}

#[test]
fn hostile_mail_runs_nothing_and_loads_nothing_in_chromium() {
    let cases = corpus();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO evil.example");
    for (name, message) in &cases {
        let reply = smtp.send_message("mallory@evil.example", &[DEMO], message);
        assert!(reply.contains("queued"), "{name}: {reply}");
    }
    let uniques = delivered(&server, cases.len());
    let b = Browser::start(server.https, "hostile_mail_runs_nothing_and_loads_nothing_in_chromium");

    // The detectors go off on a page that is not the webmail's.
    b.goto("data:text/html,<title>c</title><script>document.title='pwned'; alert('control')</script><img src='http://evil.example/control'>");
    assert_eq!(b.dialog().as_deref(), Some("control"), "the dialog detector");
    b.dismiss();
    wait_for("the control request", Duration::from_secs(10), || {
        b.proxy.take_refused().iter().any(|r| r.contains("evil.example"))
    });
    let control = b.eval_with(DOM_CHECK, vec![Value::Bool(false)]);
    assert!(control.to_string().contains("title: pwned"), "the DOM check: {control}");

    b.goto("/login");
    b.fill("input[name=user]", DEMO);
    b.fill("input[name=password]", "mailroom-demo");
    b.click("form.login button[type=submit]");
    assert_eq!(b.path(), "/");
    let mut checker = Checker { b: &b, failures: Vec::new(), pages: 0 };

    // Every hostile subject and sender on one folder page.
    b.goto("/settings");
    b.fill("input[name=page_size]", "250");
    b.click("form.settings button[type=submit]");
    checker.visit("folder page", "/folder?f=INBOX", false);
    assert_eq!(b.count("table.messages tbody tr"), cases.len(), "every message listed");
    b.screenshot("hostile-folder");

    for (case, unique) in &uniques {
        let query = format!("f=INBOX&m={}", unique.replace(',', "%2C").replace('=', "%3D"));
        checker.visit(case, &format!("/message?{query}"), false);
        checker.visit(case, &format!("/message?{query}&images=1"), true);
        if ["eml-headers-html", "mxss-svg-style-img", "eml-svg-cid-inline"].contains(&case.as_str())
        {
            b.screenshot(case);
        }
        if case.starts_with("eml-") {
            checker.visit(case, &format!("/message?{query}&headers=full"), false);
            let parts: Vec<String> = b
                .eval("return [...document.querySelectorAll('section.parts a')].map(a => a.getAttribute('href'))")
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            for part in parts {
                checker.visit(case, &part, false);
            }
            // The raw source is text/plain under a sandbox: the browser shows it as text.
            b.goto(&format!("/raw?{query}"));
            checker.pages += 1;
            assert_eq!(b.dialog(), None, "{case}: the raw source opened a dialog");
            let shown = b.eval("return document.contentType");
            assert_eq!(shown, Value::from("text/plain"), "{case}: raw source");
        }
    }
    // Anything that fired late (a refresh, a timer) is caught here.
    b.goto("/");
    for request in b.proxy.take_refused() {
        if !request.contains("img.evil.example") {
            checker.failures.push(format!("late: a request left: {request}"));
        }
    }
    eprintln!(
        "{} hostile messages, {} pages opened in Chromium; Chromium's own requests (not the page's): {:?}",
        cases.len(),
        checker.pages,
        b.proxy.browser_own()
    );
    assert!(
        checker.failures.is_empty(),
        "{} findings:\n{}",
        checker.failures.len(),
        checker.failures.join("\n")
    );
}
