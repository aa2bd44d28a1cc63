//! The compose form checked into a message to build, and what becomes of it: sent
//! through the queue with a copy in Sent, or saved to Drafts.

use std::io::{BufWriter, Write};

use mta_core::maildir::{Flags, FolderName, Maildir};
use mta_core::names::Address;

use crate::addressbook::AddressBook;
use crate::http::AppState;
use crate::writing::addresses::{Mailbox, check_header_text, parse_field};
use crate::writing::build::{Attachment, Outgoing, bcc_header, write_message};
use crate::writing::spool::{Marks, Spool, State};

/// Why a message was not sent, for the compose page.
pub(super) struct SendFailure {
    /// What to tell the user.
    pub message: String,
    /// Worth trying again as it is (the queue could not take it).
    pub temporary: bool,
}

impl SendFailure {
    fn fix(message: impl ToString) -> SendFailure {
        SendFailure { message: message.to_string(), temporary: false }
    }
}

/// The message as the form says, checked: what to build and whom to send it to.
pub(super) fn outgoing(
    state: &AppState,
    user: &Address,
    s: &State,
    spool: &Spool,
    strict: bool,
) -> Result<(Outgoing, Address, Vec<String>), SendFailure> {
    let prefs = state.directory.prefs(user).map_err(|e| SendFailure::fix(e.to_string()))?;
    let own = state.submitter.own_addresses(user);
    let from = Address::parse(s.from.trim())
        .ok()
        .filter(|a| own.contains(a))
        .ok_or_else(|| SendFailure::fix(format!("{} is not one of your addresses", s.from.trim())));
    let from = match (from, strict) {
        (Ok(from), _) => from,
        (Err(e), true) => return Err(e),
        (Err(_), false) => user.clone(),
    };
    let field = |name: &'static str, text: &str| -> Result<Vec<Mailbox>, SendFailure> {
        match parse_field(name, text) {
            Ok(list) => Ok(list),
            Err(e) if strict => Err(SendFailure::fix(e)),
            // A draft keeps what parses; the spool keeps the text as typed.
            Err(_) => {
                Ok(text.split(',').filter_map(|a| parse_field(name, a).ok()).flatten().collect())
            }
        }
    };
    // A line break anywhere is refused as typed, before anything is expanded or trimmed.
    for (name, text) in [("To", &s.to), ("Cc", &s.cc), ("Bcc", &s.bcc), ("Subject", &s.subject)] {
        check_header_text(name, text).map_err(SendFailure::fix)?;
    }
    // Nicknames from the address book (a group's, a contact's) stand for their addresses.
    let book = AddressBook::load(&state.directory.data().user(&user.domain, &user.local))
        .unwrap_or_default();
    let (to, cc, bcc) = (
        field("To", &book.expand_field(&s.to))?,
        field("Cc", &book.expand_field(&s.cc))?,
        field("Bcc", &book.expand_field(&s.bcc))?,
    );
    check_header_text("Subject", &s.subject).map_err(SendFailure::fix)?;
    let recipients: Vec<String> =
        to.iter().chain(&cc).chain(&bcc).map(|m| m.address.clone()).collect();
    if strict && recipients.is_empty() {
        return Err(SendFailure::fix("add at least one recipient in To, Cc or Bcc"));
    }
    let reply_to = Some(prefs.reply_to.trim())
        .filter(|r| !r.is_empty())
        .and_then(|r| parse_field("Reply-To", r).ok())
        .and_then(|list| list.into_iter().next());
    let message = Outgoing {
        from: Some(Mailbox {
            name: Some(prefs.display_name.trim().to_string()).filter(|n| !n.is_empty()),
            address: from.to_string(),
        }),
        reply_to,
        to,
        cc,
        bcc,
        subject: s.subject.trim().to_string(),
        body: s.body.clone(),
        message_id: s.message_id.clone(),
        in_reply_to: s.in_reply_to.clone(),
        references: s.references.clone(),
        date: mta_core::queue::now() as i64,
        attachments: s
            .attachments
            .iter()
            .map(|a| Attachment {
                path: spool.path(&a.file),
                name: a.name.clone(),
                mime: a.mime.clone(),
            })
            .collect(),
    };
    Ok((message, from, recipients))
}

pub(super) fn write_file(
    path: &std::path::Path,
    message: &Outgoing,
    with_bcc: bool,
) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    write_message(message, with_bcc, &mut out)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

pub(super) fn folder(
    state: &AppState,
    user: &Address,
    name: &str,
) -> Result<mta_core::maildir::Folder, String> {
    let maildir = Maildir::open(state.directory.maildir(user)).map_err(|e| e.to_string())?;
    let name = FolderName::parse(name).map_err(|e| e.to_string())?;
    match maildir.folder(&name) {
        Ok(folder) => Ok(folder),
        Err(_) => maildir.create_folder(&name).map_err(|e| e.to_string()),
    }
}

/// Delivers `path` (with `prefix` in front) into a folder of the user, flagged.
pub(super) fn keep_copy(
    state: &AppState,
    user: &Address,
    folder_name: &str,
    prefix: &[u8],
    path: &std::path::Path,
    flags: Flags,
) -> Result<String, String> {
    let folder = folder(state, user, folder_name)?;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let delivered =
        folder.deliver(std::io::Read::chain(prefix, file)).map_err(|e| e.to_string())?;
    let mut changes = folder.changes();
    let kept = changes.set_flags(&delivered, flags, Flags::NONE).map_err(|e| e.to_string())?;
    changes.commit().map_err(|e| e.to_string())?;
    Ok(kept.unique().to_string())
}

/// Removes an earlier saved version of the draft.
pub(super) fn drop_draft(state: &AppState, user: &Address, unique: &str) {
    let Ok(drafts) = folder(state, user, "Drafts") else { return };
    if let Ok(Some(file)) = drafts.locate(unique) {
        let mut changes = drafts.changes();
        if changes.delete(&file).is_ok() {
            let _ = changes.commit();
        }
    }
}

/// Saves the message to Drafts (replacing its earlier version there).
pub(super) fn save_draft(
    state: &AppState,
    user: &Address,
    spool: &mut Spool,
) -> Result<(), String> {
    let (message, _, _) =
        outgoing(state, user, &spool.state, spool, false).map_err(|f| f.message)?;
    let path = spool.path("draft.eml");
    write_file(&path, &message, true)
        .map_err(|e| format!("the draft could not be written: {e}"))?;
    let unique = keep_copy(state, user, "Drafts", b"", &path, Flags::DRAFT.with(Flags::SEEN))
        .map_err(|e| format!("the draft could not be saved in Drafts: {e}"))?;
    let _ = std::fs::remove_file(&path);
    if let Some(old) = spool.state.draft.replace(unique) {
        drop_draft(state, user, &old);
    }
    spool.save().map_err(|e| format!("the draft could not be recorded: {e}"))
}

/// Sends: checks, builds, queues; then the copy in Sent, the original marked, the
/// draft and the spool gone. `Ok` carries a note for the user when a copy could not be
/// kept (the message itself is sent).
pub(super) fn send(
    state: &AppState,
    user: &Address,
    spool: &mut Spool,
    client: &str,
) -> Result<Option<String>, SendFailure> {
    let (message, from, recipients) = outgoing(state, user, &spool.state, spool, true)?;
    let path = spool.path("message.eml");
    write_file(&path, &message, false).map_err(|e| SendFailure {
        message: format!("the message could not be written before sending: {e}; nothing was sent"),
        temporary: true,
    })?;
    let mut file = std::fs::File::open(&path)
        .map_err(|e| SendFailure { message: e.to_string(), temporary: true })?;
    let queued = state.submitter.submit(
        user,
        &from,
        &recipients,
        &mut file,
        &format!("webmail ([{client}])"),
    );
    if let Err(e) = queued {
        let _ = std::fs::remove_file(&path);
        let temporary = e.is_temporary();
        // Nothing typed is lost: the spool stays, and a copy goes to Drafts if it can.
        let kept = save_draft(state, user, spool).is_ok();
        let mut message = format!("Not sent: {e}.");
        if kept {
            message.push_str(" The message is saved in Drafts.");
        }
        return Err(SendFailure { message, temporary });
    }
    let mut note = None;
    let bcc = bcc_header(&message.bcc);
    if let Err(e) = keep_copy(state, user, "Sent", &bcc, &path, Flags::SEEN) {
        tracing::warn!(user = %user, "webmail: the copy in Sent was not kept: {e}");
        note = Some(format!("The message was sent, but its copy in Sent could not be kept: {e}"));
    }
    if let Some((original, marks)) = &spool.state.original {
        let flag = match marks {
            Marks::Answered => Flags::REPLIED,
            Marks::Forwarded => Flags::PASSED,
        };
        if let Ok(folder) = folder(state, user, &original.folder)
            && let Ok(Some(file)) = folder.locate(&original.unique)
        {
            let mut changes = folder.changes();
            if changes.set_flags(&file, flag, Flags::NONE).is_ok() {
                let _ = changes.commit();
            }
        }
    }
    if let Some(draft) = &spool.state.draft {
        drop_draft(state, user, draft);
    }
    let finished = std::mem::replace(spool, spool.clone());
    finished.discard();
    Ok(note)
}
