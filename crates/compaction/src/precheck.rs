//! What `CURRENT` and the manifest it names say about a directory before anything
//! opens it: a tree of ours, another program's files, a manifest this build cannot
//! read, or a manifest that went missing. Reads only; owned here because this crate
//! owns the manifest's bytes (`docs/format/manifest.md`).

use std::path::{Path, PathBuf};

use quickcache_fs::FileSystem;
use quickcache_wal::frame::{Decoded, check_segment_header, decode_at, encode_segment_header};
use quickcache_wal::{SEGMENT_HEADER_LEN, SegmentId};

use crate::{CURRENT, EDIT_FORMAT, parse_manifest_name};

/// The verdict of [`check_current`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestCheck {
    /// Nothing refuses an open: a manifest of ours this build reads, or damage the
    /// tree's own open reports with its full context (a `CURRENT` that names no
    /// manifest, a manifest it cannot read, a damaged record).
    Readable,
    /// `CURRENT` names a manifest written by another program (LevelDB and RocksDB
    /// also have `CURRENT` and `MANIFEST-000001`).
    Foreign {
        /// The manifest's file name.
        name: String,
    },
    /// `CURRENT` names a manifest that does not exist: a lost file.
    Missing {
        /// The manifest's path.
        manifest: PathBuf,
    },
    /// The manifest is of a newer version than this build reads.
    Newer {
        /// The manifest's path.
        path: PathBuf,
        /// What is newer: "manifest framing" or "manifest edits".
        what: &'static str,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
}

/// Reads `CURRENT` in `dir` and the start of the manifest it names. `Err` only when
/// `CURRENT` itself cannot be read.
///
/// # Errors
/// Reading `CURRENT` failed (it is absent, say).
///
/// # Examples
/// ```
/// use std::path::Path;
/// use quickcache_compaction::{ManifestCheck, check_current};
/// use quickcache_fs::{FileSystem, SimFs, write_atomic};
///
/// let fs = SimFs::new(1);
/// fs.create_dir_all(Path::new("/db"))?;
/// write_atomic(&fs, Path::new("/db"), "CURRENT", b"MANIFEST-000001\n")?;
/// let verdict = check_current(&fs, Path::new("/db"))?;
/// assert!(matches!(verdict, ManifestCheck::Missing { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_current(fs: &dyn FileSystem, dir: &Path) -> quickcache_fs::Result<ManifestCheck> {
    let Some((name, number)) = read_current(fs, dir)? else {
        return Ok(ManifestCheck::Readable);
    };
    let path = dir.join(&name);
    let bytes = match fs.read_file(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return check_missing(fs, dir, name),
        Err(_) => return Ok(ManifestCheck::Readable),
    };
    let id = SegmentId(number);
    if is_foreign(&bytes, id) {
        return Ok(ManifestCheck::Foreign { name });
    }
    if let Err(quickcache_wal::Error::UnsupportedVersion {
        version, supported, ..
    }) = check_segment_header(&bytes, id)
    {
        let what = "manifest framing";
        return Ok(newer(path, what, version, supported));
    }
    if let Ok(Decoded::Record { payload, .. }) = decode_at(&bytes, id, SEGMENT_HEADER_LEN)
        && let Some(&format) = payload.first()
        && format > EDIT_FORMAT
    {
        let (found, supported) = (u32::from(format), u32::from(EDIT_FORMAT));
        return Ok(newer(path, "manifest edits", found, supported));
    }
    Ok(ManifestCheck::Readable)
}

fn newer(path: PathBuf, what: &'static str, found: u32, supported: u32) -> ManifestCheck {
    ManifestCheck::Newer {
        path,
        what,
        found,
        supported,
    }
}

/// The manifest name `CURRENT` holds and its number, or `None` when it holds none.
fn read_current(fs: &dyn FileSystem, dir: &Path) -> quickcache_fs::Result<Option<(String, u64)>> {
    let bytes = fs.read_file(&dir.join(CURRENT))?;
    let name = std::str::from_utf8(&bytes)
        .unwrap_or_default()
        .trim_end_matches('\n');
    Ok(parse_manifest_name(name).map(|number| (name.to_owned(), number)))
}

/// Whether the manifest bytes were written by another program. One of ours, even
/// with a flipped byte, zeroed or written by a newer version, still shares most of
/// its header's first 24 bytes (magic, version, reserved zeros, its own number) with
/// the header this build writes; another format shares next to none. Cut ones are
/// damage too.
fn is_foreign(bytes: &[u8], id: SegmentId) -> bool {
    let ours = encode_segment_header(id);
    let compared = bytes.len().min(24);
    let same = ours
        .iter()
        .zip(bytes)
        .take(compared)
        .filter(|(a, b)| a == b)
        .count();
    same * 2 < compared
}

/// `CURRENT` names a manifest that does not exist. Switching manifests writes the
/// new one (synced) before `CURRENT`, so in a tree of ours that is a lost file.
/// Unless `CURRENT` changed meanwhile: another opener switched manifests (and its
/// lock will refuse this open).
fn check_missing(
    fs: &dyn FileSystem,
    dir: &Path,
    name: String,
) -> quickcache_fs::Result<ManifestCheck> {
    match read_current(fs, dir)? {
        Some((now, _)) if now != name => Ok(ManifestCheck::Readable),
        _ => Ok(ManifestCheck::Missing {
            manifest: dir.join(name),
        }),
    }
}
