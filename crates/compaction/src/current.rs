//! The `CURRENT` file: which manifest describes the tree.
//!
//! It holds the manifest's file name and a newline (`MANIFEST-000007\n`), and is
//! only ever replaced whole through [`quickcache_fs::write_atomic`] (temp file, sync,
//! rename, directory sync), so a crash leaves the old pointer or the new one.

use std::path::{Path, PathBuf};

use quickcache_fs::FileSystem;
use snafu::ResultExt;

use crate::Result;
use crate::error::{BadCurrentSnafu, FsSnafu};

/// The pointer file's name.
pub const CURRENT: &str = "CURRENT";

/// The file name of manifest number `number`.
pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// The manifest number a file name denotes, if it names a manifest.
pub fn parse_manifest_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("MANIFEST-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Points `CURRENT` in `dir` at manifest `number`, durably.
pub(crate) fn set_current(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<()> {
    let contents = format!("{}\n", manifest_name(number));
    quickcache_fs::write_atomic(fs, dir, CURRENT, contents.as_bytes()).context(FsSnafu {
        path: dir.join(CURRENT),
    })
}

/// Reads `CURRENT` in `dir`: the number of the manifest it names.
pub(crate) fn read_current(fs: &dyn FileSystem, dir: &Path) -> Result<u64> {
    let path = dir.join(CURRENT);
    let bytes = fs.read_file(&path).context(FsSnafu { path: &path })?;
    parse_current(&bytes).ok_or_else(|| bad_current(path, &bytes))
}

fn parse_current(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    parse_manifest_name(text.strip_suffix('\n')?)
}

fn bad_current(path: PathBuf, bytes: &[u8]) -> crate::Error {
    let shown: String = bytes
        .iter()
        .take(40)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect();
    BadCurrentSnafu {
        path,
        contents: shown,
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_parse_strictly() {
        assert_eq!(parse_current(b"MANIFEST-000007\n"), Some(7));
        assert_eq!(
            parse_current(b"MANIFEST-000007"),
            None,
            "a torn write lacks the newline"
        );
        assert_eq!(parse_current(&[0; 16]), None);
        assert_eq!(parse_current(b"MANIFEST-\n"), None);
        assert_eq!(parse_current(b"MANIFEST-12x\n"), None);
        assert_eq!(parse_manifest_name(&manifest_name(123)), Some(123));
    }
}
