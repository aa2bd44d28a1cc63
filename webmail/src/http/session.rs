//! Web sessions, stored server-side as one small file each in `sessions/` (so several
//! hosts serving one data directory share them, DESIGN.md §8).
//!
//! The cookie holds a random 256-bit token; the file is named after its SHA-256, so a
//! reader of the directory cannot replay a session. Idle and absolute timeouts are
//! checked on every request; a session may be bound to the client address it logged in
//! from. Logout removes the file: the cookie is worthless from that instant.

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use mta_core::datadir::write_atomic;
use mta_core::names::Address;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The session cookie. `__Host-`: Secure, no Domain, Path=/ — it cannot be set or read
/// by another host or path.
pub const COOKIE: &str = "__Host-mailroom";
/// Age after which a leftover temporary file in `sessions/` is removed (an atomic write
/// takes milliseconds; an hour-old one was abandoned by a crash).
const STALE_TEMP_SECS: u64 = 3600;
/// How often `last_seen` is written back (a file write per click would be wasteful).
const TOUCH_EVERY_SECS: u64 = 60;

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who.
    pub user: Address,
    /// Login time (Unix seconds).
    pub created: u64,
    /// Last request (Unix seconds, to the minute).
    pub last_seen: u64,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// "Public computer": the short idle timeout applies.
    pub public: bool,
    /// The client address the session is bound to, if the user asked for it.
    pub bound_to: Option<IpAddr>,
}

/// Timeouts of web sessions.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Idle time after which a session ends.
    pub idle: Duration,
    /// Idle time on a public computer.
    pub public_idle: Duration,
    /// Longest session, active or not.
    pub absolute: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(30 * 60),
            public_idle: Duration::from_secs(5 * 60),
            absolute: Duration::from_secs(12 * 3600),
        }
    }
}

/// Why a cookie did not lead to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// No such session (logged out, never existed, swept).
    Unknown,
    /// Timed out.
    Expired,
    /// Bound to another address.
    WrongAddress,
}

/// The sessions directory.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
    timeouts: Timeouts,
}

/// A random token of 32 bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG failing means the machine is unusable for crypto; no token is
    // better than a predictable one.
    SystemRandom::new().fill(&mut bytes).expect("the system random number generator works");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two tokens are equal, in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SessionStore {
    /// Sessions in `dir` (created if missing).
    pub fn new(dir: PathBuf, timeouts: Timeouts) -> std::io::Result<SessionStore> {
        fs::create_dir_all(&dir)?;
        Ok(SessionStore { dir, timeouts })
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn path(&self, token: &str) -> Option<PathBuf> {
        // Only our own tokens' shape reaches the filesystem (and only as a hash).
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        Some(self.dir.join(hex(digest.as_ref())))
    }

    /// A new session; returns the cookie token. A new token at every login, so a token
    /// planted before login is never promoted.
    pub fn create(
        &self,
        user: Address,
        public: bool,
        bound_to: Option<IpAddr>,
        now: u64,
    ) -> std::io::Result<(String, Session)> {
        let token = random_token();
        let session =
            Session { user, created: now, last_seen: now, csrf: random_token(), public, bound_to };
        let path = self.path(&token).ok_or_else(|| std::io::Error::other("bad token"))?;
        write_atomic(&path, toml::to_string(&session).map_err(std::io::Error::other)?.as_bytes())?;
        Ok((token, session))
    }

    /// The session of a cookie token, if valid now; refreshes its idle timer.
    pub fn load(&self, token: &str, client: IpAddr, now: u64) -> Result<Session, Invalid> {
        let path = self.path(token).ok_or(Invalid::Unknown)?;
        let text = fs::read_to_string(&path).map_err(|_| Invalid::Unknown)?;
        let mut session: Session = toml::from_str(&text).map_err(|_| Invalid::Unknown)?;
        let idle = if session.public { self.timeouts.public_idle } else { self.timeouts.idle };
        if now.saturating_sub(session.last_seen) > idle.as_secs()
            || now.saturating_sub(session.created) > self.timeouts.absolute.as_secs()
        {
            let _ = fs::remove_file(&path);
            return Err(Invalid::Expired);
        }
        if session.bound_to.is_some_and(|ip| ip != client) {
            return Err(Invalid::WrongAddress);
        }
        if now.saturating_sub(session.last_seen) >= TOUCH_EVERY_SECS {
            session.last_seen = now;
            if let Ok(text) = toml::to_string(&session) {
                let _ = write_atomic(&path, text.as_bytes());
            }
        }
        Ok(session)
    }

    /// Ends a session.
    pub fn destroy(&self, token: &str) {
        if let Some(path) = self.path(token) {
            let _ = fs::remove_file(path);
        }
    }

    /// Ends every session of `user` but the one of `keep` (a password change ends the
    /// others: a stolen cookie dies with the old password). Returns how many ended.
    pub fn end_others(&self, user: &Address, keep: Option<&str>) -> usize {
        let keep = keep.and_then(|t| self.path(t));
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        let mut ended = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if keep.as_deref() == Some(entry.path().as_path()) {
                continue;
            }
            let theirs = fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| toml::from_str::<Session>(&t).ok())
                .is_some_and(|s| s.user == *user);
            if theirs && fs::remove_file(entry.path()).is_ok() {
                ended += 1;
            }
        }
        ended
    }

    /// Removes expired session files, and temporary files a crash left behind (run now
    /// and then; several hosts may sweep the same directory at once).
    pub fn sweep(&self, now: u64) -> usize {
        let mut removed = 0;
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                // Another process's atomic write in flight, unless it is an hour old.
                let age = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .map_or(0, |d| d.as_secs());
                if age > STALE_TEMP_SECS && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
                continue;
            }
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let stale = fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| toml::from_str::<Session>(&t).ok())
                .is_none_or(|s| {
                    now.saturating_sub(s.created) > self.timeouts.absolute.as_secs()
                        || now.saturating_sub(s.last_seen) > self.timeouts.idle.as_secs()
                });
            if stale && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_change_ends_the_other_sessions_of_that_user_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            SessionStore::new(dir.path().join("sessions"), Timeouts::default()).expect("store");
        let alice = Address::parse("alice@example.org").expect("address");
        let bob = Address::parse("bob@example.org").expect("address");
        let here: IpAddr = "127.0.0.1".parse().expect("ip");
        let (mine, _) = store.create(alice.clone(), false, None, 1000).expect("mine");
        let (phone, _) = store.create(alice.clone(), false, None, 1000).expect("phone");
        let (thief, _) = store.create(alice.clone(), false, None, 1000).expect("thief");
        let (bobs, _) = store.create(bob, false, None, 1000).expect("bob");
        assert_eq!(store.end_others(&alice, Some(&mine)), 2);
        assert!(store.load(&mine, here, 1001).is_ok());
        for gone in [&phone, &thief] {
            assert_eq!(store.load(gone, here, 1001), Err(Invalid::Unknown));
        }
        assert!(store.load(&bobs, here, 1001).is_ok(), "another user's session ended");
        assert_eq!(store.end_others(&alice, None), 1);
    }

    #[test]
    fn sweep_removes_expired_sessions_and_old_temporaries_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            SessionStore::new(dir.path().join("sessions"), Timeouts::default()).expect("store");
        let alice = Address::parse("alice@example.org").expect("address");
        let here: IpAddr = "127.0.0.1".parse().expect("ip");
        let (old, _) = store.create(alice.clone(), false, None, 1000).expect("old");
        let (live, _) = store.create(alice, false, None, 100_000).expect("live");
        let sessions = dir.path().join("sessions");
        let fresh_temp = sessions.join(".abc.123.tmp");
        let old_temp = sessions.join(".def.456.tmp");
        std::fs::write(&fresh_temp, "half a session").expect("temp");
        std::fs::write(&old_temp, "abandoned").expect("temp");
        let file = std::fs::File::options().write(true).open(&old_temp).expect("open");
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        file.set_modified(two_hours_ago).expect("mtime");
        std::fs::write(sessions.join("README"), "an operator's note").expect("note");

        assert_eq!(store.sweep(100_000 + 60), 2, "the expired session and the old temporary");
        assert!(fresh_temp.exists(), "a write in flight was removed");
        assert!(!old_temp.exists());
        assert!(sessions.join("README").exists(), "a file that is not a session was removed");
        assert_eq!(store.load(&old, here, 100_060), Err(Invalid::Unknown));
        assert!(store.load(&live, here, 100_060).is_ok());
    }

    #[test]
    fn sessions_expire_bind_and_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            SessionStore::new(dir.path().join("sessions"), Timeouts::default()).expect("store");
        let alice = Address::parse("alice@example.org").expect("address");
        let here: IpAddr = "127.0.0.1".parse().expect("ip");
        let there: IpAddr = "10.0.0.9".parse().expect("ip");
        let (token, session) = store.create(alice.clone(), false, None, 1000).expect("create");
        assert_eq!(token.len(), 64);
        assert_eq!(
            store.load(&token, there, 1000 + 29 * 60).map(|s| (s.user, s.csrf, s.last_seen)),
            Ok((session.user.clone(), session.csrf.clone(), 1000 + 29 * 60)),
            "unbound follows the user, and the visit refreshes the idle timer"
        );
        assert_eq!(
            store.load(&token, here, 1000 + 29 * 60 + 31 * 60),
            Err(Invalid::Expired),
            "idle"
        );
        assert_eq!(
            store.load(&token, here, 1000),
            Err(Invalid::Unknown),
            "an expired session is gone"
        );

        let (token, _) = store.create(alice.clone(), true, Some(here), 1000).expect("create");
        assert_eq!(store.load(&token, there, 1001), Err(Invalid::WrongAddress));
        assert!(store.load(&token, here, 1001).is_ok());
        assert_eq!(store.load(&token, here, 1000 + 6 * 60), Err(Invalid::Expired), "public idle");

        let (token, _) = store.create(alice, false, None, 1000).expect("create");
        for minute in 1..=12 * 60 / 20 {
            let _ = store.load(&token, here, 1000 + minute * 20 * 60);
        }
        assert_eq!(
            store.load(&token, here, 1000 + 12 * 3600 + 60),
            Err(Invalid::Expired),
            "absolute"
        );
        assert_eq!(store.load("../../etc/passwd", here, 1000), Err(Invalid::Unknown));
        assert_ne!(random_token(), random_token());
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }

    #[test]
    fn logout_removes_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            SessionStore::new(dir.path().to_path_buf(), Timeouts::default()).expect("store");
        let (token, _) = store
            .create(Address::parse("a@example.org").expect("a"), false, None, 5)
            .expect("create");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
        let name =
            fs::read_dir(dir.path()).expect("list").flatten().next().expect("file").file_name();
        assert!(!name.to_string_lossy().contains(&token), "the token is the file name");
        store.destroy(&token);
        assert_eq!(store.load(&token, "127.0.0.1".parse().expect("ip"), 6), Err(Invalid::Unknown));
    }
}

/// CSRF tokens as sent in pages: masked with a fresh random pad each time
/// (`pad ‖ pad⊕token`), so a compressed HTTPS page never repeats the secret bytes
/// (BREACH), while any masked copy verifies against the session's token.
pub mod csrf {
    use ring::rand::{SecureRandom, SystemRandom};

    fn unhex(s: &str) -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
    }

    /// A masked copy of `token` for one form.
    pub fn mask(token: &str) -> String {
        let secret = unhex(token).unwrap_or_default();
        let mut pad = vec![0u8; secret.len()];
        SystemRandom::new().fill(&mut pad).expect("the system random number generator works");
        let masked: Vec<u8> = pad.iter().zip(&secret).map(|(p, s)| p ^ s).collect();
        format!("{}{}", super::hex(&pad), super::hex(&masked))
    }

    /// Whether a submitted masked token is the session's.
    pub fn verify(token: &str, submitted: &str) -> bool {
        let (Some(secret), Some(both)) = (unhex(token), unhex(submitted)) else { return false };
        if secret.is_empty() || both.len() != 2 * secret.len() {
            return false;
        }
        let (pad, masked) = both.split_at(secret.len());
        let unmasked: Vec<u8> = pad.iter().zip(masked).map(|(p, m)| p ^ m).collect();
        super::same_token(&super::hex(&unmasked), &super::hex(&secret))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn masked_tokens_differ_and_verify() {
            let token = super::super::random_token();
            let (a, b) = (super::mask(&token), super::mask(&token));
            assert_ne!(a, b);
            assert!(super::verify(&token, &a) && super::verify(&token, &b));
            assert!(!super::verify(&token, &token), "an unmasked token");
            assert!(!super::verify(&token, &super::mask(&super::super::random_token())));
            assert!(!super::verify(&token, "zz"));
            assert!(!super::verify(&token, ""));
        }
    }
}
