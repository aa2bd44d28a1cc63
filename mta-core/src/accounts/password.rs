//! Password hashes: argon2id in PHC string form, one per mailbox, for webmail, SMTP AUTH
//! and POP3 alike.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Longest password accepted (argon2 itself takes any length; a bound keeps a stranger
/// from making the server hash megabytes).
pub const MAX_LEN: usize = 1024;
/// Shortest password accepted when one is set.
pub const MIN_LEN: usize = 8;

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password must be {MIN_LEN} to {MAX_LEN} bytes long")]
    Length,
    /// Contains a control character (a pasted newline, say).
    #[error("a password must not contain control characters")]
    Control,
    /// The hasher failed (no randomness for a salt).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Hashes a new password with argon2id and a random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.len() < MIN_LEN || password.len() > MAX_LEN {
        return Err(PasswordError::Length);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordError::Control);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored `hash`. A malformed hash matches nothing.
pub fn verify(password: &[u8], hash: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when an account does not exist, so a
/// stranger cannot tell unknown accounts from wrong passwords by the time taken.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let random = maildir::name::unique_name();
        hash(&format!("decoy-{random}")).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(b"correct horse", &h));
        assert!(!verify(b"correct horsE", &h));
        assert!(!verify(b"anything", "not a hash"));
        assert_ne!(hash("correct horse").expect("hash"), h, "salt is not random");
        assert_eq!(hash("short"), Err(PasswordError::Length));
        assert_eq!(hash("with\nnewline"), Err(PasswordError::Control));
    }
}
