//! The address book: `addressbook.vcf` in the user's directory, vCard 4.0 (RFC 6350),
//! read and written with Stalwart's calcard, so a card keeps every property it came
//! with (an import from Apple or Thunderbird exports again whole) and the file opens
//! in any other program as it is. Contacts have names, several addresses, phones and a
//! note; groups (`KIND:group`) have a nickname standing for their members' addresses,
//! usable as a recipient.
//!
//! # Layout
//! - [`card`]: one vCard, and the fields the pages read and edit
//! - [`csv`]: importing and exporting the CSV shapes of Thunderbird and Google Contacts

pub mod card;
pub mod csv;

use std::io;
use std::path::Path;

use calcard::{Entry, Parser};
use mta_core::datadir::write_atomic;

pub use card::Card;

/// The file in the user's directory.
pub const FILE: &str = "addressbook.vcf";
/// Most cards one address book holds.
pub const MAX_CARDS: usize = 10_000;
/// Largest file read (the address book itself, or an import).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// What an import did, card by card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Cards added.
    pub added: usize,
    /// Why each skipped entry was skipped (`card 3 (Ann): …`).
    pub skipped: Vec<String>,
}

/// A user's contacts and groups.
#[derive(Debug, Clone, Default)]
pub struct AddressBook {
    /// In file order.
    pub cards: Vec<Card>,
}

/// Reads vCards from text (3.0 or 4.0, any number): the cards, and why others were
/// not read.
pub fn parse_vcards(text: &str) -> (Vec<Card>, Vec<String>) {
    let mut cards = Vec::new();
    let mut problems = Vec::new();
    let mut parser = Parser::new(text);
    loop {
        match parser.entry() {
            Entry::VCard(vcard) => cards.push(Card::new(vcard)),
            Entry::Eof => break,
            Entry::InvalidLine(line) => {
                problems
                    .push(format!("a line that is not vCard was skipped: {:?}", shorten(&line)));
            }
            Entry::ICalendar(_) => {
                problems.push("a calendar entry was skipped (not a contact)".into())
            }
            other => problems.push(format!(
                "an unreadable entry was skipped: {:?}",
                shorten(&format!("{other:?}"))
            )),
        }
        if cards.len() > MAX_CARDS {
            problems.push(format!("only the first {MAX_CARDS} cards were read"));
            break;
        }
    }
    (cards, problems)
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

impl AddressBook {
    /// Loads the user's address book (none yet: empty). A damaged card is left out and
    /// logged; the rest is there.
    pub fn load(user_dir: &Path) -> io::Result<AddressBook> {
        let path = user_dir.join(FILE);
        let text = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() > MAX_BYTES * 2 => {
                return Err(io::Error::other("the address book file is too large"));
            }
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AddressBook::default()),
            Err(e) => return Err(e),
        };
        let (cards, problems) = parse_vcards(&text);
        for problem in problems {
            tracing::warn!(path = %path.display(), "address book: {problem}");
        }
        Ok(AddressBook { cards })
    }

    /// Writes it whole, atomically, as vCard 4.0.
    pub fn save(&self, user_dir: &Path) -> io::Result<()> {
        write_atomic(&user_dir.join(FILE), self.to_vcf().as_bytes())
    }

    /// Every card as vCard 4.0.
    pub fn to_vcf(&self) -> String {
        let mut out = String::new();
        for card in &self.cards {
            card.write_vcf(&mut out);
        }
        out
    }

    /// The card with this UID.
    pub fn get(&self, uid: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.uid() == uid)
    }

    /// Replaces the card with the same UID, or adds it.
    pub fn put(&mut self, card: Card) -> Result<(), String> {
        let full = self.cards.len() >= MAX_CARDS;
        match self.cards.iter_mut().find(|c| c.uid() == card.uid()) {
            Some(existing) => *existing = card,
            None if full => return Err(format!("an address book holds at most {MAX_CARDS} cards")),
            None => self.cards.push(card),
        }
        Ok(())
    }

    /// Removes a card; whether it was there.
    pub fn remove(&mut self, uid: &str) -> bool {
        let before = self.cards.len();
        self.cards.retain(|c| c.uid() != uid);
        self.cards.len() != before
    }

    /// Cards whose name, nickname, address or phone contains `query` (any case), sorted
    /// by name; all of them for an empty query.
    pub fn search(&self, query: &str) -> Vec<&Card> {
        let query = query.trim().to_lowercase();
        let mut found: Vec<&Card> = self
            .cards
            .iter()
            .filter(|c| query.is_empty() || c.search_text().contains(&query))
            .collect();
        found.sort_by_key(|c| c.name().to_lowercase());
        found
    }

    /// The card that has this address, if any.
    pub fn with_address(&self, address: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.emails().iter().any(|e| e.eq_ignore_ascii_case(address)))
    }

    /// What a nickname (a group's, or a contact's) stands for, as recipients: `None` if
    /// it names nobody.
    pub fn expand(&self, nickname: &str) -> Option<Vec<String>> {
        let wanted = nickname.trim().to_lowercase();
        if wanted.is_empty() || wanted.contains('@') {
            return None;
        }
        let card = self.cards.iter().find(|c| {
            c.nicknames().iter().any(|n| n.to_lowercase() == wanted)
                || (c.is_group() && c.name().to_lowercase() == wanted)
        })?;
        let addresses = if card.is_group() {
            card.members()
        } else {
            let name = card.name();
            card.emails().into_iter().take(1).map(|e| format!("{name} <{e}>")).collect()
        };
        (!addresses.is_empty()).then_some(addresses)
    }

    /// A recipient field with nicknames (`team`, `annie`) replaced by the addresses
    /// they stand for; everything else as typed.
    pub fn expand_field(&self, field: &str) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut token = String::new();
        let mut quoted = false;
        let mut angle = false;
        let flush = |token: &mut String, out: &mut Vec<String>| {
            let piece = token.trim().to_string();
            token.clear();
            if piece.is_empty() {
                return;
            }
            match self.expand(&piece) {
                Some(addresses) if !piece.contains(['"', '<']) => out.extend(addresses),
                _ => out.push(piece),
            }
        };
        for c in field.chars() {
            match c {
                '"' => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                ',' | ';' if !quoted && !angle => {
                    flush(&mut token, &mut out);
                    continue;
                }
                _ => {}
            }
            token.push(c);
        }
        flush(&mut token, &mut out);
        out.join(", ")
    }

    /// `Name <address>` for every address, for completion as one types.
    pub fn suggestions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for card in &self.cards {
            if card.is_group() {
                out.extend(card.nicknames());
                continue;
            }
            let name = card.name();
            for email in card.emails() {
                out.push(if name.is_empty() || name == email {
                    email
                } else {
                    format!("{name} <{email}>")
                });
            }
        }
        out.sort_by_key(|s| s.to_lowercase());
        out
    }

    /// Adds `cards` from an import: each needs a name or an address; one whose UID or
    /// address is already here is skipped (the one here stays), and the report says so.
    pub fn import(&mut self, cards: Vec<Card>, report: &mut Report) {
        for (n, mut card) in cards.into_iter().enumerate() {
            let label = format!("card {} ({})", n + 1, shorten(&card.label()));
            if card.name().trim().is_empty() && card.emails().is_empty() && !card.is_group() {
                report.skipped.push(format!("{label}: it has neither a name nor an address"));
                continue;
            }
            let bad: Vec<String> = card
                .emails()
                .into_iter()
                .filter(|e| crate::writing::addresses::check_address(e).is_err())
                .collect();
            if !bad.is_empty() {
                card.drop_emails(&bad);
                report.skipped.push(format!("{label}: {} is not an address and was left out (the rest of the card was imported)", bad.join(", ")));
            }
            if self.get(&card.uid()).is_some() {
                report.skipped.push(format!(
                    "{label}: a card with the same UID is already in the address book"
                ));
                continue;
            }
            if let Some(email) = card.emails().into_iter().find(|e| self.with_address(e).is_some())
            {
                report.skipped.push(format!("{label}: {email} is already in the address book"));
                continue;
            }
            match self.put(card) {
                Ok(()) => report.added += 1,
                Err(why) => {
                    report.skipped.push(format!("{label}: {why}"));
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Ann Smith\r\nNICKNAME:annie\r\n\
        EMAIL;TYPE=work:ann@work.example\r\nEMAIL:ann@home.example\r\nTEL;TYPE=cell:+1 555 0100\r\n\
        NOTE:Met at the\\, conference\\nsecond line\r\nX-CUSTOM;X-PARAM=1:kept\r\nEND:VCARD\r\n\
        BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:2\r\nKIND:group\r\nFN:Team\r\nNICKNAME:team\r\n\
        MEMBER:mailto:ann@work.example\r\nMEMBER:mailto:bob@x.example\r\nEND:VCARD\r\n";

    #[test]
    fn cards_groups_search_and_expansion() {
        let (cards, problems) = parse_vcards(TWO);
        assert!(problems.is_empty(), "{problems:?}");
        let book = AddressBook { cards };
        let ann = book.get("urn:uuid:1").expect("ann");
        assert_eq!(ann.name(), "Ann Smith");
        assert_eq!(ann.emails(), ["ann@work.example", "ann@home.example"]);
        assert_eq!(ann.phones(), ["+1 555 0100"]);
        assert_eq!(ann.note(), "Met at the, conference\nsecond line");
        assert!(book.get("urn:uuid:2").expect("team").is_group());
        assert_eq!(book.search("HOME").len(), 1);
        assert_eq!(book.search("").len(), 2);
        assert_eq!(
            book.expand("Team"),
            Some(vec!["ann@work.example".into(), "bob@x.example".into()])
        );
        assert_eq!(book.expand("annie"), Some(vec!["Ann Smith <ann@work.example>".into()]));
        assert_eq!(book.expand("nobody"), None);
        assert_eq!(
            book.expand_field("team, \"Doe, Jo\" <jo@x.example>; annie,nobody"),
            "ann@work.example, bob@x.example, \"Doe, Jo\" <jo@x.example>, Ann Smith <ann@work.example>, nobody"
        );
        assert!(book.suggestions().contains(&"Ann Smith <ann@home.example>".to_string()));
        // Written back, the unknown property is still there.
        assert!(book.to_vcf().contains("X-CUSTOM;X-PARAM=1:kept"), "{}", book.to_vcf());
    }

    #[test]
    fn imports_report_what_they_skip() {
        let (cards, _) = parse_vcards(TWO);
        let mut book = AddressBook { cards };
        let incoming = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol\r\nEMAIL:carol@x.example\r\nEND:VCARD\r\n\
            BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann again\r\nEMAIL:ANN@home.example\r\nEND:VCARD\r\n\
            BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nobody\r\nEND:VCARD\r\n\
            BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dave\r\nEMAIL:not an address\r\nEMAIL:dave@x.example\r\nEND:VCARD\r\n";
        let (cards, problems) = parse_vcards(incoming);
        assert!(problems.is_empty());
        let mut report = Report::default();
        book.import(cards, &mut report);
        assert_eq!(report.added, 2, "{report:?}");
        assert_eq!(report.skipped.len(), 3, "{report:?}");
        assert!(report.skipped[0].contains("ANN@home.example is already"), "{report:?}");
        assert!(report.skipped[1].contains("neither a name nor an address"));
        assert!(report.skipped[2].contains("not an address is not an address"), "{report:?}");
        assert_eq!(book.with_address("dave@x.example").map(|c| c.name()), Some("Dave".to_string()));
    }
}
