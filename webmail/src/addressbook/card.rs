//! One vCard, kept whole: the pages read and edit a few properties (name, nicknames,
//! addresses, phones, note, a group's members); every other property, parameter and
//! group prefix stays as it came, so export gives back what import took.

use calcard::vcard::{VCard, VCardEntry, VCardKind, VCardProperty, VCardValue, VCardVersion};

/// A contact or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    vcard: VCard,
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> &'a str {
    match value.get(..scheme.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(scheme) => &value[scheme.len()..],
        _ => value,
    }
}

fn random_uid() -> String {
    let hex = crate::http::session::random_token();
    format!(
        "urn:uuid:{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Card {
    /// A card from a parsed vCard; one without a UID gets one (edits and deletes need it).
    pub fn new(mut vcard: VCard) -> Card {
        if vcard.uid().is_none_or(|u| u.trim().is_empty()) {
            vcard.entries.retain(|e| e.name != VCardProperty::Uid);
            vcard.entries.push(VCardEntry::new(VCardProperty::Uid).with_value(random_uid()));
        }
        Card { vcard }
    }

    /// A new, empty contact.
    pub fn contact() -> Card {
        Card::new(VCard { entries: Vec::new() })
    }

    /// A new, empty group.
    pub fn group() -> Card {
        let mut card = Card::contact();
        card.vcard.entries.push(VCardEntry::new(VCardProperty::Kind).with_value(VCardKind::Group));
        card
    }

    /// The vCard.
    pub fn vcard(&self) -> &VCard {
        &self.vcard
    }

    /// Its UID.
    pub fn uid(&self) -> String {
        self.vcard.uid().unwrap_or_default().to_string()
    }

    fn values(&self, prop: &VCardProperty) -> Vec<String> {
        self.vcard
            .entries
            .iter()
            .filter(|e| e.name == *prop)
            .flat_map(|e| e.values.iter())
            .filter_map(|v| match v {
                VCardValue::Component(parts) => {
                    let joined = parts
                        .iter()
                        .map(|p| p.trim())
                        .filter(|p| !p.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ");
                    Some(joined)
                }
                other => other.as_text().map(str::to_string),
            })
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The name to show: FN, else the parts of N, else nothing.
    pub fn name(&self) -> String {
        if let Some(name) = self.values(&VCardProperty::Fn).into_iter().next() {
            return name;
        }
        // N is family;given;additional;prefix;suffix.
        let n = self.vcard.entries.iter().find(|e| e.name == VCardProperty::N);
        let part = |i: usize| -> String {
            n.and_then(|e| e.values.get(i))
                .map(|v| match v {
                    VCardValue::Component(parts) => parts.join(" "),
                    other => other.as_text().unwrap_or_default().to_string(),
                })
                .unwrap_or_default()
        };
        [part(3), part(1), part(2), part(0), part(4)]
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Its name, else its first address: what a list shows.
    pub fn label(&self) -> String {
        let name = self.name();
        if name.is_empty() { self.emails().into_iter().next().unwrap_or_default() } else { name }
    }

    /// Nicknames (several may be given, comma-separated).
    pub fn nicknames(&self) -> Vec<String> {
        self.values(&VCardProperty::Nickname)
            .iter()
            .flat_map(|n| n.split(','))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// Email addresses, in order.
    pub fn emails(&self) -> Vec<String> {
        self.values(&VCardProperty::Email)
            .iter()
            .map(|e| strip_scheme(e, "mailto:").trim().to_string())
            .collect()
    }

    /// Phone numbers, in order.
    pub fn phones(&self) -> Vec<String> {
        self.values(&VCardProperty::Tel)
            .iter()
            .map(|t| strip_scheme(t, "tel:").trim().to_string())
            .collect()
    }

    /// The note.
    pub fn note(&self) -> String {
        self.values(&VCardProperty::Note).join("\n")
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        self.vcard.entries.iter().any(|e| {
            e.name == VCardProperty::Kind
                && e.values.iter().any(|v| {
                    matches!(v, VCardValue::Kind(VCardKind::Group))
                        || v.as_text().is_some_and(|t| t.eq_ignore_ascii_case("group"))
                })
        })
    }

    /// A group's members, as addresses.
    pub fn members(&self) -> Vec<String> {
        self.values(&VCardProperty::Member)
            .iter()
            .map(|m| strip_scheme(m, "mailto:").trim().to_string())
            .filter(|m| m.contains('@'))
            .collect()
    }

    /// Lower-cased text that a search looks in.
    pub fn search_text(&self) -> String {
        let mut text = self.name();
        for part in self.nicknames().into_iter().chain(self.emails()).chain(self.phones()) {
            text.push(' ');
            text.push_str(&part);
        }
        text.to_lowercase()
    }

    /// Sets the values of `prop`: entries whose value stays are kept with their
    /// parameters (TYPE=work…), the others go, new ones come at the end.
    fn set_values(
        &mut self,
        prop: VCardProperty,
        values: &[String],
        wrap: impl Fn(&str) -> String,
    ) {
        let wanted: Vec<String> =
            values.iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        let mut kept: Vec<String> = Vec::new();
        self.vcard.entries.retain(|e| {
            if e.name != prop {
                return true;
            }
            let value = e
                .values
                .first()
                .and_then(|v| v.as_text())
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            let plain = strip_scheme(strip_scheme(&value, "mailto:"), "tel:").to_string();
            let keep = wanted.iter().any(|w| w.eq_ignore_ascii_case(&plain))
                && !kept.iter().any(|k| k.eq_ignore_ascii_case(&plain));
            if keep {
                kept.push(plain);
            }
            keep
        });
        for value in wanted {
            if !kept.iter().any(|k| k.eq_ignore_ascii_case(&value)) {
                self.vcard.entries.push(VCardEntry::new(prop.clone()).with_value(wrap(&value)));
            }
        }
    }

    /// Sets the name (FN; N is left as it was).
    pub fn set_name(&mut self, name: &str) {
        self.vcard.entries.retain(|e| e.name != VCardProperty::Fn);
        if !name.trim().is_empty() {
            self.vcard
                .entries
                .push(VCardEntry::new(VCardProperty::Fn).with_value(name.trim().to_string()));
        }
    }

    /// Sets the nicknames.
    pub fn set_nicknames(&mut self, nicknames: &[String]) {
        self.vcard.entries.retain(|e| e.name != VCardProperty::Nickname);
        let list: Vec<String> =
            nicknames.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
        if !list.is_empty() {
            self.vcard
                .entries
                .push(VCardEntry::new(VCardProperty::Nickname).with_value(list.join(",")));
        }
    }

    /// Sets the addresses.
    pub fn set_emails(&mut self, emails: &[String]) {
        self.set_values(VCardProperty::Email, emails, str::to_string);
    }

    /// Leaves out some addresses.
    pub fn drop_emails(&mut self, gone: &[String]) {
        let left: Vec<String> = self.emails().into_iter().filter(|e| !gone.contains(e)).collect();
        self.set_emails(&left);
    }

    /// Sets the phone numbers.
    pub fn set_phones(&mut self, phones: &[String]) {
        self.set_values(VCardProperty::Tel, phones, str::to_string);
    }

    /// Sets the note.
    pub fn set_note(&mut self, note: &str) {
        self.vcard.entries.retain(|e| e.name != VCardProperty::Note);
        let note = note.replace("\r\n", "\n");
        if !note.trim().is_empty() {
            self.vcard
                .entries
                .push(VCardEntry::new(VCardProperty::Note).with_value(note.trim().to_string()));
        }
    }

    /// Sets a group's members.
    pub fn set_members(&mut self, members: &[String]) {
        self.set_values(VCardProperty::Member, members, |m| format!("mailto:{m}"));
    }

    /// Adds one property as given (imports from CSV).
    pub fn push(&mut self, entry: VCardEntry) {
        self.vcard.entries.push(entry);
    }

    /// Appends the card as vCard 4.0.
    pub fn write_vcf(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = self.vcard.write_to(out, VCardVersion::V4_0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_what_they_do_not_touch() {
        let (cards, _) = super::super::parse_vcards(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;Ann;Q.;Dr.;\r\nEMAIL;TYPE=WORK:ann@work.example\r\n\
             EMAIL:old@x.example\r\nitem1.URL:https://ann.example\r\nitem1.X-ABLABEL:blog\r\nEND:VCARD\r\n",
        );
        let mut card = cards.into_iter().next().expect("a card");
        assert!(card.uid().starts_with("urn:uuid:"), "a UID is given");
        assert_eq!(card.name(), "Dr. Ann Q. Smith", "from N");
        card.set_emails(&["ann@work.example".into(), "ann@new.example".into()]);
        card.set_name("Ann Smith");
        let mut vcf = String::new();
        card.write_vcf(&mut vcf);
        assert!(
            vcf.contains("EMAIL;TYPE=WORK:ann@work.example")
                || vcf.contains("EMAIL;TYPE=work:ann@work.example"),
            "{vcf}"
        );
        assert!(vcf.contains("ann@new.example") && !vcf.contains("old@x.example"), "{vcf}");
        assert!(
            vcf.contains("item1.URL:https://ann.example") && vcf.contains("X-ABLABEL:blog"),
            "{vcf}"
        );
        assert!(vcf.contains("FN:Ann Smith") && vcf.contains("N:Smith;Ann;Q.;Dr.;"), "{vcf}");
        let mut group = Card::group();
        group.set_name("Team");
        group.set_members(&["a@x.example".into(), "b@x.example".into()]);
        assert!(group.is_group());
        assert_eq!(group.members(), ["a@x.example", "b@x.example"]);
    }
}
