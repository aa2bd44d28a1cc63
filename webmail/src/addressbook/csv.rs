//! Contacts as CSV, in the shapes other programs export: Thunderbird's columns, Google
//! Contacts' (the current "E-mail 1 - Value" form and the older "Given Name" one), and
//! any file whose columns say name, e-mail, phone or note. Each row becomes the vCard
//! text a careful program would write, read back with calcard; a column that means
//! nothing here is named in the report, never silently lost.

use super::card::Card;
use super::{MAX_CARDS, Report, parse_vcards};

/// Escapes a vCard text value (RFC 6350 §3.4).
fn esc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.trim().chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One row read: its header→value pairs.
struct Row<'a> {
    headers: &'a [String],
    values: Vec<String>,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .and_then(|i| self.values.get(i))
            .map_or("", |v| v.trim())
    }
}

/// A vCard being put together from one row.
#[derive(Default)]
struct Builder {
    lines: Vec<String>,
}

impl Builder {
    fn line(&mut self, name: &str, params: &str, value: &str) {
        if !value.trim().is_empty() {
            self.lines.push(format!("{name}{params}:{}", esc(value)));
        }
    }

    fn raw(&mut self, line: String) {
        self.lines.push(line);
    }

    fn text(&self) -> String {
        let mut text = String::from("BEGIN:VCARD\r\nVERSION:4.0\r\n");
        for line in &self.lines {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push_str("END:VCARD\r\n");
        text
    }
}

fn type_param(label: &str) -> String {
    let label = label.trim().trim_start_matches("* ").to_ascii_lowercase();
    let kind = match label.as_str() {
        "work" | "home" | "cell" | "mobile" | "fax" | "pager" | "voice" | "text" => {
            label.replace("mobile", "cell")
        }
        "" | "other" => return String::new(),
        _ => return String::new(),
    };
    format!(";TYPE={kind}")
}

/// Which program wrote the file, by its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Thunderbird,
    Google,
    Generic,
}

fn shape(headers: &[String]) -> Shape {
    let has = |h: &str| headers.iter().any(|x| x.eq_ignore_ascii_case(h));
    if has("Primary Email") {
        Shape::Thunderbird
    } else if has("E-mail 1 - Value") {
        Shape::Google
    } else {
        Shape::Generic
    }
}

/// Columns each shape reads (compared without case); any other non-empty column is
/// reported.
fn known(shape: Shape, header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    match shape {
        Shape::Thunderbird => [
            "first name",
            "last name",
            "display name",
            "nickname",
            "primary email",
            "secondary email",
            "work phone",
            "home phone",
            "fax number",
            "pager number",
            "mobile number",
            "job title",
            "department",
            "organization",
            "web page 1",
            "web page 2",
            "birth year",
            "birth month",
            "birth day",
            "notes",
            "home address",
            "home address 2",
            "home city",
            "home state",
            "home zipcode",
            "home country",
            "work address",
            "work address 2",
            "work city",
            "work state",
            "work zipcode",
            "work country",
        ]
        .contains(&h.as_str()),
        Shape::Google => {
            [
                "name",
                "first name",
                "given name",
                "middle name",
                "additional name",
                "last name",
                "family name",
                "name prefix",
                "name suffix",
                "nickname",
                "notes",
                "birthday",
                "organization name",
                "organization title",
                "organization department",
                "organization 1 - name",
                "organization 1 - title",
                "labels",
                "group membership",
            ]
            .contains(&h.as_str())
                || ((h.starts_with("e-mail ")
                    || h.starts_with("phone ")
                    || h.starts_with("website "))
                    && (h.ends_with(" - value")
                        || h.ends_with(" - label")
                        || h.ends_with(" - type")))
        }
        Shape::Generic => {
            h.contains("mail") || h.contains("name") || h.contains("phone") || h.contains("note")
        }
    }
}

fn thunderbird(row: &Row<'_>, card: &mut Builder) {
    let (first, last) = (row.get("First Name"), row.get("Last Name"));
    let display = row.get("Display Name");
    let full = if display.is_empty() {
        format!("{first} {last}").trim().to_string()
    } else {
        display.to_string()
    };
    card.line("FN", "", &full);
    if !(first.is_empty() && last.is_empty()) {
        card.raw(format!("N:{};{};;;", esc(last), esc(first)));
    }
    card.line("NICKNAME", "", row.get("Nickname"));
    card.line("EMAIL", ";PREF=1", row.get("Primary Email"));
    card.line("EMAIL", "", row.get("Secondary Email"));
    for (column, kind) in [
        ("Work Phone", "work"),
        ("Home Phone", "home"),
        ("Mobile Number", "cell"),
        ("Fax Number", "fax"),
        ("Pager Number", "pager"),
    ] {
        card.line("TEL", &format!(";TYPE={kind}"), row.get(column));
    }
    for kind in ["Home", "Work"] {
        let part = |p: &str| row.get(&format!("{kind} {p}")).to_string();
        let street = [part("Address"), part("Address 2")]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        let parts = [street, part("City"), part("State"), part("ZipCode"), part("Country")];
        if parts.iter().any(|p| !p.is_empty()) {
            card.raw(
                format!(
                    ";TYPE={}:;;{};{};{};{};{}",
                    kind.to_ascii_lowercase(),
                    esc(&parts[0]),
                    esc(&parts[1]),
                    esc(&parts[2]),
                    esc(&parts[3]),
                    esc(&parts[4])
                )
                .replacen(";TYPE", "ADR;TYPE", 1),
            );
        }
    }
    let (org, department) = (row.get("Organization"), row.get("Department"));
    if !org.is_empty() || !department.is_empty() {
        card.raw(format!("ORG:{};{}", esc(org), esc(department)));
    }
    card.line("TITLE", "", row.get("Job Title"));
    card.line("URL", "", row.get("Web Page 1"));
    card.line("URL", "", row.get("Web Page 2"));
    let (y, m, d) = (row.get("Birth Year"), row.get("Birth Month"), row.get("Birth Day"));
    if let (Ok(m), Ok(d)) = (m.parse::<u32>(), d.parse::<u32>()) {
        let year = y.parse::<u32>().map_or("--".to_string(), |y| format!("{y:04}"));
        card.raw(format!("BDAY:{year}{m:02}{d:02}"));
    }
    card.line("NOTE", "", row.get("Notes"));
}

fn google(row: &Row<'_>, card: &mut Builder) {
    let first = [row.get("First Name"), row.get("Given Name")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let middle = [row.get("Middle Name"), row.get("Additional Name")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let last = [row.get("Last Name"), row.get("Family Name")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let (prefix, suffix) = (row.get("Name Prefix"), row.get("Name Suffix"));
    let full = match row.get("Name") {
        "" => [prefix, first, middle, last, suffix]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        name => name.to_string(),
    };
    card.line("FN", "", &full);
    if [first, middle, last, prefix, suffix].iter().any(|s| !s.is_empty()) {
        card.raw(format!(
            "N:{};{};{};{};{}",
            esc(last),
            esc(first),
            esc(middle),
            esc(prefix),
            esc(suffix)
        ));
    }
    card.line("NICKNAME", "", row.get("Nickname"));
    for (kind, prop) in [("E-mail", "EMAIL"), ("Phone", "TEL"), ("Website", "URL")] {
        for n in 1..=20 {
            let value = row.get(&format!("{kind} {n} - Value"));
            let label =
                [row.get(&format!("{kind} {n} - Label")), row.get(&format!("{kind} {n} - Type"))]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or("");
            // Several values in one cell are separated by " ::: ".
            for value in value.split(" ::: ") {
                card.line(prop, &type_param(label), value);
            }
        }
    }
    let org = [row.get("Organization Name"), row.get("Organization 1 - Name")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let department = row.get("Organization Department");
    if !org.is_empty() || !department.is_empty() {
        card.raw(format!("ORG:{};{}", esc(org), esc(department)));
    }
    let title = [row.get("Organization Title"), row.get("Organization 1 - Title")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    card.line("TITLE", "", title);
    let birthday = row.get("Birthday");
    if !birthday.is_empty() {
        card.raw(format!("BDAY:{}", birthday.replace(['-', ' '], "")));
    }
    let labels: Vec<String> = [row.get("Labels"), row.get("Group Membership")]
        .iter()
        .flat_map(|l| l.split(" ::: "))
        .map(|l| l.trim().trim_start_matches("* ").to_string())
        .filter(|l| !l.is_empty() && l != "myContacts" && l != "My Contacts")
        .collect();
    if !labels.is_empty() {
        card.raw(format!(
            "CATEGORIES:{}",
            labels.iter().map(|l| esc(l)).collect::<Vec<_>>().join(",")
        ));
    }
    card.line("NOTE", "", row.get("Notes"));
}

fn generic(row: &Row<'_>, card: &mut Builder) {
    for (i, header) in row.headers.iter().enumerate() {
        let value = row.values.get(i).map_or("", |v| v.trim());
        let h = header.to_ascii_lowercase();
        if h.contains("mail") {
            card.line("EMAIL", "", value);
        } else if h.contains("phone") {
            card.line("TEL", "", value);
        } else if h.contains("note") {
            card.line("NOTE", "", value);
        } else if h.contains("name") && !card.lines.iter().any(|l| l.starts_with("FN:")) {
            card.line("FN", "", value);
        }
    }
}

/// Reads a CSV export into cards; unreadable rows and unknown columns go to `report`.
pub fn import(text: &str, report: &mut Report) -> Vec<Card> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            report.skipped.push(format!("the file is not CSV: {e}"));
            return Vec::new();
        }
    };
    let shape = shape(&headers);
    let mut unknown: Vec<String> = Vec::new();
    let mut cards = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.skipped.push(format!("row {}: not a CSV row: {e}", n + 1));
                continue;
            }
        };
        // The file's line where the row starts (a quoted field may span lines).
        let line = record.position().map_or(n as u64 + 2, |p| p.line());
        let row = Row { headers: &headers, values: record.iter().map(str::to_string).collect() };
        for (i, header) in headers.iter().enumerate() {
            if !row.values.get(i).is_none_or(|v| v.trim().is_empty())
                && !known(shape, header)
                && !unknown.contains(header)
            {
                unknown.push(header.clone());
            }
        }
        let mut builder = Builder::default();
        match shape {
            Shape::Thunderbird => thunderbird(&row, &mut builder),
            Shape::Google => google(&row, &mut builder),
            Shape::Generic => generic(&row, &mut builder),
        }
        if builder.lines.is_empty() {
            report.skipped.push(format!("line {line}: the row is empty"));
            continue;
        }
        let (parsed, problems) = parse_vcards(&builder.text());
        for problem in problems {
            report.skipped.push(format!("line {line}: {problem}"));
        }
        cards.extend(parsed);
        if cards.len() > MAX_CARDS {
            report.skipped.push(format!("only the first {MAX_CARDS} rows were read"));
            break;
        }
    }
    for column in unknown {
        report.skipped.push(format!(
            "the column {column:?} has no place in an address book here and was not imported"
        ));
    }
    cards
}

/// Writes contacts (groups have no row) with Google Contacts' columns, which
/// Thunderbird, Apple and Outlook import too.
pub fn export(cards: &[&Card]) -> String {
    let contacts: Vec<&&Card> = cards.iter().filter(|c| !c.is_group()).collect();
    let emails = contacts.iter().map(|c| c.emails().len()).max().unwrap_or(0).max(1);
    let phones = contacts.iter().map(|c| c.phones().len()).max().unwrap_or(0).max(1);
    let mut header = vec!["Name".to_string(), "Nickname".to_string()];
    header.extend((1..=emails).map(|n| format!("E-mail {n} - Value")));
    header.extend((1..=phones).map(|n| format!("Phone {n} - Value")));
    header.push("Notes".to_string());
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&header);
    for card in contacts {
        let mut row = vec![card.name(), card.nicknames().join(", ")];
        let (e, p) = (card.emails(), card.phones());
        row.extend((0..emails).map(|i| e.get(i).cloned().unwrap_or_default()));
        row.extend((0..phones).map(|i| p.get(i).cloned().unwrap_or_default()));
        row.push(card.note());
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_cards_and_unknown_columns_are_named() {
        let text = "First Name,Last Name,Display Name,Nickname,Primary Email,Secondary Email,Mobile Number,Notes,Custom 1\n\
                    Ann,Smith,\"Smith, Ann\",annie,ann@x.example,ann@y.example,+1 555 0100,\"two\nlines; with, marks\",zz\n";
        let mut report = Report::default();
        let cards = import(text, &mut report);
        assert_eq!(cards.len(), 1);
        let ann = &cards[0];
        assert_eq!(ann.name(), "Smith, Ann");
        assert_eq!(ann.emails(), ["ann@x.example", "ann@y.example"]);
        assert_eq!(ann.phones(), ["+1 555 0100"]);
        assert_eq!(ann.note(), "two\nlines; with, marks");
        assert_eq!(ann.nicknames(), ["annie"]);
        assert!(report.skipped.iter().any(|s| s.contains("\"Custom 1\"")), "{report:?}");
        let exported = export(&[ann]);
        let mut again = Report::default();
        let back = import(&exported, &mut again);
        assert!(again.skipped.is_empty(), "{again:?}");
        assert_eq!(
            (back[0].name(), back[0].emails(), back[0].phones(), back[0].note()),
            (ann.name(), ann.emails(), ann.phones(), ann.note())
        );
    }
}
