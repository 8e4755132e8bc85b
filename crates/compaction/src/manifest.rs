//! The manifest: the log of version edits that describes the tree, one edit per
//! record, synced on every append.
//!
//! File layout (`docs/format/manifest.md`): a WAL segment header carrying the manifest
//! number, then one WAL record frame per edit. The first edit of every manifest is a
//! snapshot of the whole tree, so a manifest never depends on an older one.
//!
//! ```text
//! +------------------------+----------------------+----------------------+-----+
//! | segment header (32 B)  | frame: snapshot edit | frame: edit          | ... |
//! +------------------------+----------------------+----------------------+-----+
//! ```

use std::path::{Path, PathBuf};

use quickcache_fs::{FileSystem, WritableFile};
use snafu::ResultExt;

use crate::edit::codec;
use crate::error::{EditRefusedSnafu, FsSnafu, ManifestCorruptSnafu, PoisonedSnafu};
use crate::{DroppedTail, Result, VersionEdit, manifest_name};

/// The open manifest, appended to by the version set under its lock.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    number: u64,
    path: PathBuf,
    file: Box<dyn WritableFile>,
    /// Set when an append or sync failed: the file's tail is unknown.
    poisoned: bool,
    /// Whether the failure that poisoned the writer was a full disk during the append
    /// (the record is torn or absent, never durable), so that a fresh manifest may
    /// replace this one.
    retryable: bool,
    scratch: Vec<u8>,
}

impl ManifestWriter {
    /// Creates manifest `number` in `dir` holding the `snapshot` edits as its first
    /// records, synced and with its name made durable.
    pub(crate) fn create(
        fs: &dyn FileSystem,
        dir: &Path,
        number: u64,
        snapshot: &[VersionEdit],
    ) -> Result<Self> {
        let path = dir.join(manifest_name(number));
        let mut file = fs.create(&path).context(FsSnafu { path: &path })?;
        file.append(&crate::framing::header(number))
            .context(FsSnafu { path: &path })?;
        let mut writer = ManifestWriter {
            number,
            path,
            file,
            poisoned: false,
            retryable: false,
            scratch: Vec::new(),
        };
        writer.append_all(snapshot)?;
        fs.sync_dir(dir).context(FsSnafu { path: dir })?;
        Ok(writer)
    }

    /// Continues manifest `number` in `dir`, which ends cleanly after `len` bytes (a
    /// [`ReadBack`] with nothing `dropped`). Syncs the file and the directory first: what
    /// was read back may have reached only the page cache before a crash, and what is
    /// built on it (segments deleted below its log number) must not outlive it.
    ///
    /// `synced`: the previous run closed cleanly, so the file and its name are durable
    /// already and the syncs are skipped.
    pub(crate) fn reopen(
        fs: &dyn FileSystem,
        dir: &Path,
        number: u64,
        len: u64,
        synced: bool,
    ) -> Result<Self> {
        let path = dir.join(manifest_name(number));
        let mut file = fs.open_append(&path).context(FsSnafu { path: &path })?;
        if file.len() != len {
            let reason = format!("holds {} bytes, {len} were read", file.len());
            return Err(ManifestCorruptSnafu {
                path,
                offset: len,
                reason,
            }
            .build());
        }
        if !synced {
            file.sync_data().context(FsSnafu { path: &path })?;
            fs.sync_dir(dir).context(FsSnafu { path: dir })?;
        }
        Ok(ManifestWriter {
            number,
            path,
            file,
            poisoned: false,
            retryable: false,
            scratch: Vec::new(),
        })
    }

    /// A writer for a tree opened read-only: poisoned from the start, so every
    /// append fails, and `file` (which refuses writes too) is never written.
    pub(crate) fn refusing(number: u64, path: PathBuf, file: Box<dyn WritableFile>) -> Self {
        ManifestWriter {
            number,
            path,
            file,
            poisoned: true,
            retryable: false,
            scratch: Vec::new(),
        }
    }

    /// The manifest's number.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// The manifest's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.file.len()
    }

    /// Refuses every further append, for good (no fresh manifest may replace it
    /// without a reopen).
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
        self.retryable = false;
    }

    /// Whether the writer is poisoned by a full disk only: the caller may replace it
    /// by a fresh manifest ([`crate::VersionSet`]'s recovery), never append to it.
    pub(crate) fn needs_replacing(&self) -> bool {
        self.poisoned && self.retryable
    }

    /// Appends `edit` and syncs it. After a failure the writer is poisoned: the record
    /// may or may not be durable, so nothing more may be appended.
    pub(crate) fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        self.append_all(std::slice::from_ref(edit))
    }

    /// Appends `edits`, one record each, with one write and one sync. Poisons the
    /// writer on failure, like [`ManifestWriter::append`].
    pub(crate) fn append_all(&mut self, edits: &[VersionEdit]) -> Result<()> {
        if self.poisoned {
            let retryable = self.retryable;
            return PoisonedSnafu {
                path: &self.path,
                retryable,
            }
            .fail();
        }
        let mut payload = std::mem::take(&mut self.scratch);
        let mut frames = Vec::new();
        let mut framed = Ok(());
        for edit in edits {
            payload.clear();
            codec::encode(edit, &mut payload);
            let at = self.len() + frames.len() as u64;
            framed = crate::framing::frame(&mut frames, self.number, at, &payload);
            if framed.is_err() {
                break;
            }
        }
        self.scratch = payload;
        // Refused before anything is written: the file is as it was, no need to poison.
        framed.map_err(|reason| {
            EditRefusedSnafu {
                path: &self.path,
                reason,
            }
            .build()
        })?;
        self.poisoned = true;
        if let Err(source) = self.file.append(&frames) {
            // ENOSPC from the append: the record is torn or absent, so a fresh
            // manifest may replace this file. Any sync failure stays for good.
            self.retryable = source.is_retryable_no_space();
            return Err(source).context(FsSnafu { path: &self.path });
        }
        self.file
            .sync_data()
            .context(FsSnafu { path: &self.path })?;
        self.poisoned = false;
        Ok(())
    }
}

/// A manifest as read back: its edits in order, each with its record's offset, and
/// the damaged tail dropped after them, if any. Only a manifest without one ends
/// exactly at the end of its last record, so that appending to it continues the log.
#[derive(Debug)]
pub(crate) struct ReadBack {
    pub(crate) edits: Vec<(u64, VersionEdit)>,
    pub(crate) dropped: Option<DroppedTail>,
    pub(crate) len: u64,
    /// Whether the file is in this build's formats (framing and edit encoding): only
    /// then may it be continued, so that a manifest never mixes versions.
    pub(crate) current_format: bool,
}

/// Reads manifest `number` in `dir`.
pub(crate) fn read(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<ReadBack> {
    let path = dir.join(manifest_name(number));
    let bytes = fs.read_file(&path).context(FsSnafu { path: &path })?;
    let corrupt = |offset: u64, reason: String| {
        ManifestCorruptSnafu {
            path: &path,
            offset,
            reason,
        }
        .build()
    };
    let read = crate::framing::records(&bytes, number).map_err(|d| corrupt(d.offset, d.reason))?;
    let Some(edit_format) = read.records.first().and_then(|(_, p)| p.first().copied()) else {
        return Err(corrupt(0, "holds no snapshot record".to_owned()));
    };
    // A manifest is written in one edit version from its snapshot on.
    if let Some((offset, _)) = (read.records.iter()).find(|(_, p)| p.first() != Some(&edit_format))
    {
        let reason = format!("an edit of another version than the snapshot's ({edit_format})");
        return Err(corrupt(*offset, reason));
    }
    let current_format =
        read.format == quickcache_wal::FORMAT_VERSION && edit_format == codec::EDIT_FORMAT;
    let edits = (read.records.into_iter())
        .map(|(offset, payload)| match codec::decode(payload) {
            Ok(edit) => Ok((offset, edit)),
            Err(e) => Err(corrupt(offset, e.to_string())),
        })
        .collect::<Result<_>>()?;
    let len = bytes.len() as u64;
    let dropped = read.dropped.map(|d| DroppedTail {
        path: path.clone(),
        offset: d.offset,
        bytes: len.saturating_sub(d.offset),
        reason: d.reason,
    });
    Ok(ReadBack {
        edits,
        dropped,
        len,
        current_format,
    })
}
