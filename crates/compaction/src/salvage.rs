//! Reading what damaged manifests still say, and installing a manifest built from
//! scratch: the two halves of a repair that belong to the manifest's owner.
//!
//! A repair cannot rely on `CURRENT` nor on any one manifest being intact, so
//! [`salvage_manifests`] reads every manifest in the directory, oldest first, record by
//! record: a damaged record is skipped (the reader resumes at the next intact frame,
//! `docs/format/wal.md`), an edit that does not decode is skipped, and the edits that
//! remain are applied without the checks an open makes. What comes out is advice:
//! keyspace names and options, which keyspace and level each table was last listed
//! in, which tables were removed, the log numbers and counters.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use quickcache_fs::FileSystem;
use quickcache_sstable::{KeyspaceId, SeqNo};
use quickcache_wal::frame::{Decoded, check_segment_header, decode_at, next_intact};
use quickcache_wal::{SEGMENT_HEADER_LEN, SegmentId};

use crate::manifest::ManifestWriter;
use crate::{KeyspaceDef, Level, Result, TableId, TableInfo, VersionEdit, parse_manifest_name};

/// What a table was last recorded as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFate {
    /// Listed in `keyspace`'s tree at `level`.
    Listed {
        /// The keyspace.
        keyspace: KeyspaceId,
        /// The level.
        level: Level,
        /// What the edit recorded about it.
        info: TableInfo,
    },
    /// Removed (compacted away, or its keyspace dropped): obsolete.
    Removed,
}

/// A record of a manifest that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// The manifest.
    pub path: PathBuf,
    /// Offset of the damage.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

/// What the manifests of a directory still say (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct ManifestSalvage {
    /// Manifests read, oldest first.
    pub manifests: Vec<PathBuf>,
    /// Live keyspaces other than the default: created and not dropped.
    pub keyspaces: BTreeMap<KeyspaceId, KeyspaceDef>,
    /// Keyspaces dropped.
    pub dropped: BTreeSet<KeyspaceId>,
    /// What each table mentioned was last recorded as.
    pub tables: HashMap<TableId, TableFate>,
    /// The largest log number recorded per keyspace.
    pub log_numbers: HashMap<KeyspaceId, u64>,
    /// The largest next file number recorded.
    pub next_file: u64,
    /// The largest sequence number recorded.
    pub last_seqno: SeqNo,
    /// The largest keyspace id handed out.
    pub last_keyspace: KeyspaceId,
    /// The newest WAL segment recorded as durably created (0 if none).
    pub wal_segment: u64,
    /// Damaged or undecodable records that were skipped.
    pub skipped: Vec<SkippedRecord>,
    /// Whether every manifest read whole (no record skipped, none unreadable) and
    /// there was at least one edit.
    pub complete: bool,
    /// Edits applied.
    pub edits: usize,
}

/// Reads every manifest in `dir` leniently (see the module doc): a manifest that
/// cannot be read, or a record of one, is listed in [`ManifestSalvage::skipped`].
///
/// # Errors
/// Listing `dir` or reading one of its manifests failed (a missing directory holds
/// no manifest). A repair must not go on as if there were none: it would rebuild the
/// tree without their advice (tables of other keyspaces would be taken for the
/// default keyspace's) and report nothing lost. Damage inside a manifest that was
/// read is no error: it is skipped and listed.
pub fn salvage_manifests(fs: &dyn FileSystem, dir: &Path) -> Result<ManifestSalvage> {
    let mut out = ManifestSalvage {
        complete: true,
        ..ManifestSalvage::default()
    };
    let names = match fs.list(dir) {
        Ok(names) => names,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(source) => {
            return Err(crate::Error::Fs {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut numbers: Vec<u64> = names
        .iter()
        .filter_map(|n| parse_manifest_name(n))
        .collect();
    numbers.sort_unstable();
    for number in numbers {
        let path = dir.join(crate::manifest_name(number));
        out.next_file = out.next_file.max(number.saturating_add(1));
        match fs.read_file(&path) {
            Ok(bytes) => out.read(&path, number, &bytes),
            // Removed since the listing (an open finishing a manifest switch).
            Err(e) if e.is_not_found() => continue,
            // Not damage: the bytes were never seen. Rebuilding without this
            // manifest's advice could place its tables in the wrong keyspace.
            Err(source) => return Err(crate::Error::Fs { path, source }),
        }
        out.manifests.push(path);
    }
    // A manifest always starts with a snapshot: none at all means it was lost.
    out.complete &= out.edits > 0;
    Ok(out)
}

impl ManifestSalvage {
    fn skip(&mut self, path: &Path, offset: u64, reason: String) {
        self.complete = false;
        self.skipped.push(SkippedRecord {
            path: path.to_path_buf(),
            offset,
            reason,
        });
    }

    /// Applies every intact, decodable record of one manifest.
    fn read(&mut self, path: &Path, number: u64, bytes: &[u8]) {
        let id = SegmentId(number);
        match check_segment_header(bytes, id) {
            Ok(Ok(_)) => {}
            Ok(Err(kind)) => self.skip(path, 0, kind.to_string()),
            Err(e) => self.skip(path, 0, e.to_string()),
        }
        let mut at = SEGMENT_HEADER_LEN;
        loop {
            match decode_at(bytes, id, at) {
                Ok(Decoded::Record { payload, next }) => {
                    match VersionEdit::decode(payload) {
                        Ok(edit) => self.apply(&edit),
                        Err(e) => self.skip(path, at as u64, e.to_string()),
                    }
                    at = next;
                }
                Ok(Decoded::End) => return,
                Err(kind) => {
                    self.skip(path, at as u64, kind.to_string());
                    match next_intact(bytes, id, at + 1) {
                        Some(next) => at = next,
                        None => return,
                    }
                }
            }
        }
    }

    /// Applies one edit without the checks an open makes.
    fn apply(&mut self, edit: &VersionEdit) {
        self.edits += 1;
        let ks = edit.keyspace;
        if let Some(def) = &edit.create {
            self.keyspaces.insert(ks, def.clone());
            self.dropped.remove(&ks);
        }
        for (_, id) in &edit.removed {
            self.tables.insert(*id, TableFate::Removed);
        }
        for (level, info) in &edit.added {
            let fate = TableFate::Listed {
                keyspace: ks,
                level: *level,
                info: info.clone(),
            };
            self.tables.insert(info.id, fate);
        }
        if edit.drop {
            self.keyspaces.remove(&ks);
            self.dropped.insert(ks);
            for fate in self.tables.values_mut() {
                if matches!(fate, TableFate::Listed { keyspace, .. } if *keyspace == ks) {
                    *fate = TableFate::Removed;
                }
            }
        }
        if let Some(n) = edit.log_number {
            let slot = self.log_numbers.entry(ks).or_default();
            *slot = (*slot).max(n);
        }
        self.next_file = self.next_file.max(edit.next_file.unwrap_or(0));
        self.wal_segment = self.wal_segment.max(edit.wal_segment.unwrap_or(0));
        self.last_seqno = self.last_seqno.max(edit.last_seqno.unwrap_or(SeqNo::ZERO));
        let last = edit.last_keyspace.unwrap_or_default().max(ks);
        self.last_keyspace = self.last_keyspace.max(last);
    }
}

/// Writes manifest `number` in `dir` holding `edits` (a snapshot: the keyspaces'
/// creates, then the default keyspace's edit), syncs it and the directory, then
/// points `CURRENT` at it (`docs/crash-safety.md` rule 3). A crash before the switch
/// leaves the old manifest in charge; after it, the new one.
///
/// # Errors
/// Writing or syncing the manifest or `CURRENT` failed; `CURRENT` then names the old
/// manifest unless the failure came after the rename.
pub fn install_manifest(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    edits: &[VersionEdit],
) -> Result<PathBuf> {
    let writer = ManifestWriter::create(fs, dir, number, edits)?;
    let path = writer.path().to_path_buf();
    drop(writer);
    crate::current::set_current(fs, dir, number)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use quickcache_fs::{FileSystem, SimFs};
    use quickcache_sstable::KeyspaceId;

    use super::{TableFate, install_manifest, salvage_manifests};
    use crate::edit::tests::info;
    use crate::{KeyspaceDef, Level, TableId, TreeOptions, VersionEdit};

    fn def(name: &str) -> KeyspaceDef {
        KeyspaceDef {
            name: name.to_owned(),
            options: TreeOptions {
                memtable_size: 1 << 20,
                table_size: 2 << 20,
                block_size: 4096,
                bloom_bits_per_key: 10,
                base_level_size: 64 << 20,
                level_multiplier: 10,
                compression: crate::DEFAULT_COMPRESSION,
            },
        }
    }

    #[test]
    fn a_damaged_record_is_skipped_and_the_others_still_count() {
        let fs = SimFs::new(1);
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let ks = KeyspaceId(1);
        let edits = [
            VersionEdit {
                keyspace: ks,
                create: Some(def("users")),
                log_number: Some(3),
                added: vec![(Level::L0, info(4, b"a", b"b", 1))],
                ..VersionEdit::new()
            },
            VersionEdit {
                added: vec![(Level::BOTTOM, info(5, b"c", b"d", 2))],
                ..VersionEdit::new()
            },
            VersionEdit {
                removed: vec![(Level::BOTTOM, TableId(5))],
                added: vec![(Level::L0, info(6, b"e", b"f", 3))],
                next_file: Some(9),
                wal_segment: Some(7),
                ..VersionEdit::new()
            },
        ];
        let path = install_manifest(&fs, dir, 2, &edits).unwrap();
        // Damage the middle record: the first and last still count.
        let mut bytes = fs.read_file(&path).unwrap();
        let len = bytes.len();
        bytes[len / 2] ^= 1;
        let mut file = fs.create(&path).unwrap();
        file.append(&bytes).unwrap();
        file.close().unwrap();
        let s = salvage_manifests(&fs, dir).unwrap();
        assert!(!s.complete && s.skipped.len() == 1, "{s:?}");
        assert_eq!(s.keyspaces.get(&ks).map(|d| d.name.as_str()), Some("users"));
        assert_eq!(s.log_numbers.get(&ks), Some(&3));
        assert_eq!((s.next_file, s.wal_segment), (9, 7));
        assert_eq!(s.tables.get(&TableId(5)), Some(&TableFate::Removed));
        let listed = |id| matches!(s.tables.get(&TableId(id)), Some(TableFate::Listed { .. }));
        assert!(listed(4) && listed(6), "{:?}", s.tables);
    }

    /// An I/O error reading a manifest fails the salvage: a manifest skipped for it
    /// would take its keyspaces' advice with it (issue 23's repair I/O-fault sweep).
    #[test]
    fn a_manifest_that_cannot_be_read_fails_the_salvage() {
        let fs = SimFs::new(1);
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let edit = VersionEdit {
            keyspace: KeyspaceId(1),
            create: Some(def("users")),
            ..VersionEdit::new()
        };
        install_manifest(&fs, dir, 2, &[edit]).unwrap();
        fs.set_faults(quickcache_fs::FaultPlan::new().fail_matching(
            |op, path| {
                op == quickcache_fs::Op::Open
                    && path.file_name().is_some_and(|n| n == "MANIFEST-000002")
            },
            quickcache_fs::Fault::Io,
        ));
        let err = salvage_manifests(&fs, dir).unwrap_err();
        assert!(err.to_string().contains("MANIFEST-000002"), "{err}");
        fs.clear_faults();
        assert!(salvage_manifests(&fs, dir).unwrap().complete);
    }
}
