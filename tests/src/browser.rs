//! A real headless Chromium for the page tests, driven over WebDriver (Debian's
//! `chromium` + `chromium-driver`, installed by `tests/run`). Every request the browser
//! makes goes through a [`Proxy`] that lets through only the webmail under test, so a
//! test can say "no request left for any other origin". The methods are blocking, like
//! the rest of the test helpers; each one panics with what it was doing.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::proxy::Proxy;
use crate::server::wait_for;

/// Chromium's switches: headless as root in a container, no background traffic, a fresh
/// profile, every request through the recording proxy.
fn switches(profile: &Path, proxy: SocketAddr) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--no-pings",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,InsecureDownloadWarnings,PreconnectToSearch",
        "--window-size=1280,900",
        "--proxy-bypass-list=<-loopback>",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--proxy-server=http://{proxy}"));
    args
}

/// Where screenshots and downloads of a test are kept: `target/test-artifacts/<test>/`.
pub fn artifacts(test: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts").join(test);
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

/// chromedriver's `se/log` command: the browser's log of one type, emptied as read.
#[derive(Debug)]
struct ReadLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ReadLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "performance" }).to_string()))
    }
}

/// What the browser's log says happened on the network.
#[derive(Debug, Clone)]
pub enum Event {
    /// A response arrived for a page, an image, a stylesheet…
    Response(Received),
    /// A response was taken as a download (not shown).
    Download {
        /// Its URL.
        url: String,
        /// The file name the browser gives it.
        filename: String,
    },
}

/// One response the browser received, from its network log.
#[derive(Debug, Clone)]
pub struct Received {
    /// The whole URL.
    pub url: String,
    /// The status code.
    pub status: u64,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One browser, logged in to nothing yet.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    /// Every request not to the webmail lands here.
    pub proxy: Proxy,
    /// `https://127.0.0.1:port` of the webmail.
    pub base: String,
    /// Screenshots and downloads.
    pub artifacts: PathBuf,
    shots: std::cell::Cell<usize>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and Chromium for the webmail at `https`; artifacts go under
    /// the test's name.
    pub fn start(https: SocketAddr, test: &str) -> Browser {
        for (tool, package) in [("chromium", "chromium"), ("chromedriver", "chromium-driver")] {
            assert!(
                Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()),
                "{tool} is missing: install Debian's {package} (tests/run does, as root)"
            );
        }
        let artifacts = artifacts(test);
        let downloads = artifacts.join("downloads");
        let _ = std::fs::remove_dir_all(&downloads);
        std::fs::create_dir_all(&downloads).expect("downloads");
        // Port 0: chromedriver binds a free port itself and says which.
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let stdout = driver.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let port = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(20)).expect("chromedriver says its port");
        wait_for("chromedriver", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let profile = tempfile::tempdir().expect("profile");
        let proxy = Proxy::start(https);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        // The webmail's certificate is the self-signed one made on first run.
        caps.insert("acceptInsecureCerts".into(), json!(true));
        // An alert stays open for the test to see (and count), instead of failing the
        // next command.
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        // The network log: which responses the browser received, downloads included.
        caps.insert("goog:loggingPrefs".into(), json!({ "performance": "ALL" }));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": switches(profile.path(), proxy.addr),
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    // No "keep or discard?" question for an unknown file type.
                    "safebrowsing.enabled": false,
                    "safebrowsing.disable_download_protection": true,
                    // No preconnecting to the default search engine.
                    "net.network_prediction_options": 2,
                },
            }),
        );
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("a Chromium session");
        Browser {
            rt,
            client: Some(client),
            driver,
            proxy,
            base: format!("https://{https}"),
            artifacts,
            shots: std::cell::Cell::new(0),
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("open")
    }

    /// Opens a path of the webmail (or a whole URL).
    pub fn goto(&self, path: &str) {
        let url =
            if path.contains("://") { path.to_string() } else { format!("{}{path}", self.base) };
        self.rt.block_on(self.client().goto(&url)).unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The current URL without the origin (`/folder?f=INBOX`).
    pub fn path(&self) -> String {
        let url = self.rt.block_on(self.client().current_url()).expect("current url");
        let full = url.as_str();
        full.strip_prefix(&self.base).unwrap_or(full).to_string()
    }

    /// Clicks the first element matching `css`, a link or a button that loads a new
    /// page, and waits until that page has loaded.
    pub fn click(&self, css: &str) {
        // A mark on the old document: gone once the new one is there.
        self.eval("window.__mailroomOld = true; return null");
        self.press(css);
        wait_for(&format!("the page after clicking {css}"), Duration::from_secs(20), || {
            self.eval(
                "return window.__mailroomOld === undefined && document.readyState === 'complete'",
            ) == Value::Bool(true)
        });
    }

    /// Clicks the first element matching `css` and does not wait for anything (a
    /// checkbox, a download link).
    pub fn press(&self, css: &str) {
        self.rt
            .block_on(async { self.client().find(Locator::Css(css)).await?.click().await })
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub fn fill(&self, css: &str, text: &str) {
        self.rt
            .block_on(async {
                let field = self.client().find(Locator::Css(css)).await?;
                field.clear().await?;
                field.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("fill {css}: {e}"));
    }

    /// Picks the option with `value` in the select matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.rt
            .block_on(async {
                self.client().find(Locator::Css(css)).await?.select_by_value(value).await
            })
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// The visible text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.rt
            .block_on(async { self.client().find(Locator::Css(css)).await?.text().await })
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// The visible texts of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.rt
            .block_on(async {
                let mut out = Vec::new();
                for element in self.client().find_all(Locator::Css(css)).await? {
                    out.push(element.text().await?);
                }
                Ok::<_, fantoccini::error::CmdError>(out)
            })
            .unwrap_or_else(|e| panic!("texts of {css}: {e}"))
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.rt
            .block_on(self.client().find_all(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .len()
    }

    /// The page's source as the browser has it now.
    pub fn source(&self) -> String {
        self.rt.block_on(self.client().source()).expect("page source")
    }

    /// Runs `script` through WebDriver (outside the page's CSP) and returns its value.
    pub fn eval(&self, script: &str) -> Value {
        self.rt
            .block_on(self.client().execute(script, Vec::new()))
            .unwrap_or_else(|e| panic!("execute {script}: {e}"))
    }

    /// Runs `script` with `arguments` set to `args`.
    pub fn eval_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("execute {script}: {e}"))
    }

    /// Dismisses an open dialog.
    pub fn dismiss(&self) {
        self.rt.block_on(self.client().dismiss_alert()).expect("dismiss the dialog");
    }

    /// The text of an open alert, confirm or prompt, if one is open.
    pub fn dialog(&self) -> Option<String> {
        self.rt.block_on(self.client().get_alert_text()).ok()
    }

    /// Resizes the window (CSS pixels).
    pub fn resize(&self, width: u32, height: u32) {
        self.rt
            .block_on(self.client().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("resize to {width}×{height}: {e}"));
    }

    /// Saves a screenshot of the viewport as `NN-name.png` among the test's artifacts.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.shots.set(self.shots.get() + 1);
        let png = self.rt.block_on(self.client().screenshot()).expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let path = self.artifacts.join(format!("{:02}-{name}.png", self.shots.get()));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Responses and downloads since the last call (Chromium's network log).
    pub fn events(&self) -> Vec<Event> {
        let log = self.rt.block_on(self.client().issue_cmd(ReadLog)).expect("the network log");
        let mut out = Vec::new();
        for entry in log.as_array().into_iter().flatten() {
            let Some(text) = entry.get("message").and_then(Value::as_str) else { continue };
            let Ok(message) = serde_json::from_str::<Value>(text) else { continue };
            let (method, params) = (&message["message"]["method"], &message["message"]["params"]);
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            if method == "Page.downloadWillBegin" {
                out.push(Event::Download {
                    url: text(&params["url"]),
                    filename: text(&params["suggestedFilename"]),
                });
            } else if method == "Network.responseReceived" {
                let response = &params["response"];
                let headers = response["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.to_ascii_lowercase(), text(v)))
                    .collect();
                out.push(Event::Response(Received {
                    url: text(&response["url"]),
                    status: response["status"].as_u64().unwrap_or_default(),
                    headers,
                }));
            }
        }
        out
    }

    /// The browser's cookies for the webmail, as a `Cookie:` header value (HttpOnly ones
    /// included: WebDriver sees them).
    pub fn cookie_header(&self) -> String {
        let cookies = self.rt.block_on(self.client().get_all_cookies()).expect("cookies");
        cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ")
    }

    /// The downloads directory of this browser.
    pub fn downloads(&self) -> PathBuf {
        self.artifacts.join("downloads")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
