//! An HTTPS client for the webmail tests: `curl` (a client nobody here wrote) with a
//! cookie jar, so cookies behave as a browser's would between requests.

use std::path::PathBuf;
use std::process::Command;

/// One response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header lines as sent (`name: value`), names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, decompressed, as text (lossy).
    pub body: String,
    /// The body, decompressed, as bytes.
    pub bytes: Vec<u8>,
    /// Bytes on the wire for the body (compressed when the server compressed it).
    pub wire_bytes: u64,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The value of `name="csrf"`'s first hidden input in the page.
    pub fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.body[start..].split('"').next().expect("a value").to_string()
    }
}

/// One part of a multipart form.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    /// A text field.
    Text(&'a str),
    /// A file: its path, the name sent, its type.
    File(&'a std::path::Path, &'a str, &'a str),
}

/// A browser-like client with its own cookie jar.
pub struct Curl {
    jar: PathBuf,
    /// `https://127.0.0.1:port`.
    pub base: String,
}

impl Curl {
    /// A client for `base` keeping cookies in `jar`.
    pub fn new(base: String, jar: PathBuf) -> Curl {
        Curl { jar, base }
    }

    fn run(&self, path: &str, extra: &[String]) -> Response {
        let dir = self.jar.with_extension("tmp");
        std::fs::create_dir_all(&dir).expect("scratch");
        let (head, body) = (dir.join("head"), dir.join("body"));
        let out = Command::new("curl")
            .args(["-s", "-k", "--compressed", "-c"])
            .arg(&self.jar)
            .arg("-b")
            .arg(&self.jar)
            .arg("-D")
            .arg(&head)
            .arg("-o")
            .arg(&body)
            .args(["-w", "%{size_download}"])
            .args(extra)
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl is installed (tests/run installs it)");
        assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
        let head = std::fs::read_to_string(&head).unwrap_or_default();
        // The last response: an upload first gets "100 Continue".
        let last = head.rfind("HTTP/").unwrap_or(0);
        let mut lines = head[last..].lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let bytes = std::fs::read(&body).unwrap_or_default();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
            wire_bytes: String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0),
        }
    }

    /// GET.
    pub fn get(&self, path: &str) -> Response {
        self.run(path, &[])
    }

    /// POST an urlencoded form.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut args = Vec::new();
        for (k, v) in form {
            args.push("--data-urlencode".to_string());
            args.push(format!("{k}={v}"));
        }
        self.run(path, &args)
    }

    /// POST a multipart/form-data form, fields in order; a file part is
    /// `("file", Part::File(path, name, mime))`.
    pub fn post_multipart(&self, path: &str, form: &[(&str, Part<'_>)]) -> Response {
        let mut args = Vec::new();
        for (name, part) in form {
            match part {
                Part::Text(value) => {
                    args.push("--form-string".to_string());
                    args.push(format!("{name}={value}"));
                }
                Part::File(file, filename, mime) => {
                    args.push("-F".to_string());
                    args.push(format!(
                        "{name}=@{};filename={filename};type={mime}",
                        file.display()
                    ));
                }
            }
        }
        self.run(path, &args)
    }

    /// Logs in through the form; returns the response to the POST.
    pub fn login(&self, user: &str, password: &str) -> Response {
        let form = self.get("/login");
        assert_eq!(form.status, 200, "login page");
        self.post("/login", &[("csrf", &form.csrf()), ("user", user), ("password", password)])
    }
}
