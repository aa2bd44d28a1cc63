//! SMTP replies: a code, an enhanced status code (RFC 3463) and text. Every failure says
//! whether it is temporary (4xx: try again later) or permanent (5xx).

use std::fmt;

/// One reply, possibly of several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The enhanced status code (`2.1.5`), empty for the greeting and EHLO lines.
    pub status: &'static str,
    /// The lines of text (at least one).
    pub lines: Vec<String>,
}

/// What a reply means for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx or 3xx.
    Completed,
    /// 4xx.
    TemporaryFailure,
    /// 5xx.
    PermanentFailure,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, status: &'static str, text: impl Into<String>) -> Reply {
        Reply { code, status, lines: vec![text.into()] }
    }

    /// What it means.
    pub fn outcome(&self) -> Outcome {
        match self.code {
            400..=499 => Outcome::TemporaryFailure,
            500..=599 => Outcome::PermanentFailure,
            _ => Outcome::Completed,
        }
    }

    /// The reply as sent, CRLF line endings.
    pub fn to_wire(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        for (n, line) in self.lines.iter().enumerate() {
            let sep = if n == last { ' ' } else { '-' };
            if self.status.is_empty() {
                write!(f, "{}{sep}{line}\r\n", self.code)?;
            } else {
                write!(f, "{}{sep}{} {line}\r\n", self.code, self.status)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_render_with_continuations() {
        let r = Reply { code: 250, status: "", lines: vec!["a".into(), "b".into()] };
        assert_eq!(r.to_string(), "250-a\r\n250 b\r\n");
        assert_eq!(Reply::new(550, "5.1.1", "no").to_string(), "550 5.1.1 no\r\n");
        assert_eq!(Reply::new(452, "4.5.3", "x").outcome(), Outcome::TemporaryFailure);
    }
}
