//! The compose form's multipart body, read as streams: text fields whole within a
//! bound, files straight into the spool within the attachment limits, the rest of a
//! refused file read and dropped within `MAX_DRAIN`.

use actix_multipart::Field;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{MAX_DRAIN, MAX_FILE, MAX_FILES, MAX_TOTAL};
use crate::http::Error;
use crate::writing::clean_mime;
use crate::writing::spool::{Spool, SpooledFile};

/// Reads a text field whole, refusing more than `max` bytes.
pub(super) async fn read_text(field: &mut Field, name: &str, max: usize) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk =
            chunk.map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        if bytes.len() + chunk.len() > max {
            return Err(Error::BadRequest(format!("the {name} field is longer than {max} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::BadRequest(format!("the {name} field is not UTF-8 text")))
}

/// Streams one uploaded file into the spool. `Err` is a refusal to show the user (the
/// file is not kept); the request goes on.
pub(super) async fn save_upload(
    spool: &mut Spool,
    field: &mut Field,
    name: &str,
    read_past: &mut u64,
) -> Result<Result<(), String>, Error> {
    if spool.state.attachments.len() >= MAX_FILES {
        drain(field, read_past).await?;
        return Ok(Err(format!(
            "{name} was not attached: a message may have at most {MAX_FILES} attachments"
        )));
    }
    let mime =
        clean_mime(&field.content_type().map(|m| m.essence_str().to_string()).unwrap_or_default());
    let file = spool.next_file();
    let path = spool.path(&file);
    let partial = spool.path(&format!("{file}.part"));
    let mut out = tokio::fs::File::create(&partial).await.map_err(Error::internal)?;
    let room = MAX_FILE.min(MAX_TOTAL.saturating_sub(spool.attachment_bytes()));
    let mut size = 0u64;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
        size += chunk.len() as u64;
        if size > room {
            drop(out);
            let _ = tokio::fs::remove_file(&partial).await;
            *read_past += size;
            drain(field, read_past).await?;
            let why = if room < MAX_FILE {
                format!(
                    "{name} was not attached: the attachments together may take {}, and {} is left",
                    crate::views::size(MAX_TOTAL),
                    crate::views::size(room)
                )
            } else {
                format!(
                    "{name} was not attached: it is larger than {}",
                    crate::views::size(MAX_FILE)
                )
            };
            return Ok(Err(why));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", partial.display())))?;
    }
    out.flush().await.map_err(Error::internal)?;
    drop(out);
    tokio::fs::rename(&partial, &path).await.map_err(Error::internal)?;
    spool.state.attachments.push(SpooledFile { file, name: name.to_string(), mime, size });
    Ok(Ok(()))
}

/// Reads and drops the rest of a field, within `MAX_DRAIN` for the whole request.
pub(super) async fn drain(field: &mut Field, read_past: &mut u64) -> Result<(), Error> {
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
        *read_past += chunk.len() as u64;
        if *read_past > MAX_DRAIN {
            return Err(Error::BadRequest(format!(
                "the upload is far larger than the {} a message's attachments may take; what you typed is kept — go back to the message",
                crate::views::size(MAX_TOTAL)
            )));
        }
    }
    Ok(())
}
