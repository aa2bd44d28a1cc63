//! Delivery status notifications (RFC 3464) to the sender of a message some of whose
//! recipients failed for good. Never to the null sender `<>`: a bounce is itself sent
//! from `<>`, so bounces cannot loop.

use std::io::{BufRead, BufReader, Read};

use crate::accounts::{Directory, Resolution};
use crate::names::RemoteAddress;
use crate::queue::{Entry, Envelope, Queue, Recipient, RecipientStatus};

/// Header bytes of the original message quoted in the bounce.
const MAX_QUOTED_HEADER: u64 = 32 * 1024;

/// Queues a bounce for the recipients `failed` of `entry`. Returns its queue id, or
/// `None` when no bounce is due (the sender is `<>`, or unknown here and not an address
/// elsewhere).
pub fn send(
    directory: &Directory,
    queue: &Queue,
    entry: &Entry,
    failed: &[usize],
    reporting_host: &str,
) -> Result<Option<String>, super::Error> {
    if entry.envelope.sender.is_empty() || failed.is_empty() {
        return Ok(None);
    }
    let sender = entry.envelope.sender.clone();
    let destinations = match directory.resolve(&sender) {
        Ok(Resolution::Found(list)) => list,
        Ok(Resolution::NotLocal) => match RemoteAddress::parse_sender(&sender) {
            Ok(remote) => vec![crate::accounts::Destination::Remote(remote)],
            Err(_) => return Ok(None),
        },
        Ok(Resolution::Unknown | Resolution::Discard) | Err(_) => return Ok(None),
    };
    let envelope = Envelope {
        sender: String::new(),
        received: super::now(),
        client: format!("localhost {reporting_host}"),
        recipients: destinations
            .into_iter()
            .map(|destination| Recipient { destination, original: sender.clone() })
            .collect(),
    };
    let text = report(queue, entry, failed, reporting_host);
    let mut incoming = queue.begin(&envelope)?;
    incoming.write(text.as_bytes())?;
    incoming.commit().map(Some)
}

fn report(queue: &Queue, entry: &Entry, failed: &[usize], host: &str) -> String {
    let boundary = format!("=_bounce_{}", entry.id);
    let date = mail_parser::DateTime::from_timestamp(super::now() as i64).to_rfc822();
    let arrival = mail_parser::DateTime::from_timestamp(entry.envelope.received as i64).to_rfc822();
    let mut human = String::new();
    let mut machine = format!("Reporting-MTA: dns; {host}\nArrival-Date: {arrival}\n");
    for &n in failed {
        let recipient = &entry.envelope.recipients[n];
        let reason = match &entry.status[n] {
            RecipientStatus::Failed { reason, .. } => reason.clone(),
            _ => "5.0.0 failed".to_string(),
        };
        let code = reason.split(' ').next().unwrap_or("5.0.0").to_string();
        human.push_str(&format!("<{}>: {reason}\n", recipient.original));
        machine.push_str(&format!(
            "\nFinal-Recipient: rfc822; {}\nOriginal-Recipient: rfc822; {}\nAction: failed\nStatus: {code}\nDiagnostic-Code: x-mailroom; {reason}\n",
            recipient.destination, recipient.original
        ));
    }
    let headers = original_headers(queue, entry);
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\n\
         To: <{to}>\n\
         Subject: Undelivered Mail Returned to Sender\n\
         Date: {date}\n\
         Auto-Submitted: auto-replied\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\n\
         \n\
         --{boundary}\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         This is the mail system at {host}.\n\n\
         Your message (queue id {id}) could not be delivered to one or more recipients.\n\
         It has not been delivered to them and will not be tried again.\n\n{human}\n\
         --{boundary}\n\
         Content-Type: message/delivery-status\n\
         \n\
         {machine}\n\
         --{boundary}\n\
         Content-Type: text/rfc822-headers\n\
         \n\
         {headers}\n\
         --{boundary}--\n",
        to = entry.envelope.sender,
        id = entry.id,
    )
}

/// The original message's header block (bounded), for the third part.
fn original_headers(queue: &Queue, entry: &Entry) -> String {
    let Ok(file) = queue.open_message(entry) else { return String::new() };
    let mut reader = BufReader::new(file.take(MAX_QUOTED_HEADER));
    let mut out = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line.trim_end().is_empty() {
            break;
        }
        out.push_str(&line);
        line.clear();
    }
    out
}
