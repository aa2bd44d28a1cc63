//! The name parsers on arbitrary strings: message file names (unique part, flags, size),
//! folder names typed by users and found on disk, and modified UTF-7. Nothing panics,
//! what is accepted round-trips, and no accepted name can leave its directory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maildir::name::{check_file_name, flags_of, size_of, unique_part, with_flags};
use maildir::{FolderName, MessageFile, Subdir, mutf7};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    // Message file names.
    if let Ok(file) = MessageFile::new(Subdir::Cur, text) {
        assert!(!file.name.contains('/') && !file.name.starts_with('.'));
        let unique = file.unique();
        assert!(text.starts_with(unique));
        let flags = flags_of(text);
        let renamed = with_flags(unique, flags);
        assert_eq!(flags_of(&renamed), flags, "flags survive a rename");
        assert_eq!(unique_part(&renamed), unique);
        let _ = size_of(text);
    } else {
        assert!(check_file_name(text).is_err());
    }

    // Folder names typed by a user: accepted ones are safe on disk and round-trip.
    if let Ok(name) = FolderName::parse(text)
        && let Some(dir) = name.dir_name()
    {
        assert!(dir.starts_with('.') && !dir.contains('/') && dir != "." && dir != "..");
        assert!(!dir.chars().any(|c| c.is_control() || !c.is_ascii()));
        let back = FolderName::from_dir_name(&dir).expect("its own directory name reads back");
        assert_eq!(back, name);
        assert_eq!(back.to_string(), name.to_string());
    }

    // Folder directories found on disk.
    if let Some(name) = FolderName::from_dir_name(text) {
        for level in name.levels() {
            assert!(!level.is_empty() && !level.contains('/'));
        }
    }

    // Modified UTF-7 both ways.
    assert_eq!(mutf7::decode(&mutf7::encode(text)).as_deref(), Ok(text));
    if let Ok(decoded) = mutf7::decode(text) {
        let _ = mutf7::encode(&decoded);
    }
});
