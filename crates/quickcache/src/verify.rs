//! `verify`: a read-only check of a database directory. Takes no lock, writes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache_compaction::VersionSet;
use quickcache_fs::{DynFs, RealFs};
use quickcache_sstable::Table;
use quickcache_wal::{Position, RecoveryMode, SegmentId, WalReader};

use crate::error::Result;
use crate::open::WAL_DIR;

/// A problem found in one file.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("CURRENT"), "garbage")?;
/// let report = quickcache::verify(dir.path())?;
/// let problem = &report.damaged[0];
/// assert!(problem.path.ends_with("CURRENT"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of the damage, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// What [`verify`] found.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// db.flush()?;
/// db.close()?;
/// let report = quickcache::verify(dir.path())?;
/// assert!(report.is_ok(), "{report:?}");
/// assert_eq!(report.tables, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Tables checked.
    pub tables: usize,
    /// WAL segments read.
    pub wal_segments: usize,
    /// WAL records read.
    pub wal_records: u64,
    /// Damaged files: the database cannot be opened as it is, or data is lost.
    pub damaged: Vec<FileProblem>,
    /// Findings that are not damage: a torn tail at the end of the last WAL segment
    /// (what a crash leaves; the next open cuts it off).
    pub warnings: Vec<FileProblem>,
}

impl VerifyReport {
    /// Whether no file is damaged.
    ///
    /// # Examples
    /// ```
    /// assert!(quickcache::VerifyReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.damaged.is_empty()
    }
}

/// Checks the database in `path` on the real file system without locking or
/// changing it: `CURRENT` and the manifest, every table's checksums, filter and key
/// order ([`Table::verify`]) and size, of every keyspace, and every live WAL segment
/// (from the oldest any keyspace needs) (a torn tail of the
/// last segment is a warning, any other damage is reported), including segments the
/// manifest records as created that are gone.
///
/// # Errors
/// Only if the check itself cannot run (the directory cannot be listed); damage is
/// reported in the [`VerifyReport`].
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// quickcache::Db::open(dir.path())?.close()?;
/// assert!(quickcache::verify(dir.path())?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
    verify_with(path, Arc::new(RealFs::new()))
}

/// [`verify`] on any file system (the simulated one in tests).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use quickcache::fs::SimFs;
/// let fs = Arc::new(SimFs::new(1));
/// let db = quickcache::Db::open_with("/db", quickcache::Options { fs: fs.clone(), ..Default::default() })?;
/// db.put("k", "v")?;
/// db.close()?;
/// assert!(quickcache::verify_with("/db", fs)?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_with(path: impl AsRef<Path>, fs: DynFs) -> Result<VerifyReport> {
    let dir = path.as_ref();
    let mut report = VerifyReport::default();
    let mut recorded_segment = 0;
    let log_number = match VersionSet::inspect(Arc::clone(&fs), dir) {
        Ok(tree) => {
            let others = tree.keyspaces.iter().map(|(_, k)| k.version.as_ref());
            for version in std::iter::once(&tree.version).chain(others) {
                for (_, handle) in version.tables() {
                    report.tables += 1;
                    if let Some(problem) = check_table(&fs, handle.path(), handle.info().size) {
                        report.damaged.push(problem);
                    }
                }
            }
            recorded_segment = tree.wal_segment;
            // Every keyspace's live segments: the oldest-log rule.
            tree.min_log_number
        }
        Err(e) => {
            report.damaged.push(manifest_problem(dir, &e));
            0
        }
    };
    check_wal(&fs, &dir.join(WAL_DIR), log_number, &mut report);
    if let Err(e) =
        crate::lost::check_newest_segment(fs.as_ref(), dir, recorded_segment, log_number)
    {
        let path = match &e {
            crate::Error::MissingWalSegment { path, .. } => path.clone(),
            _ => dir.join(WAL_DIR),
        };
        report.damaged.push(FileProblem {
            path,
            offset: None,
            reason: e.to_string(),
        });
    }
    Ok(report)
}

fn manifest_problem(dir: &Path, e: &quickcache_compaction::Error) -> FileProblem {
    use quickcache_compaction::Error as E;
    let (path, offset) = match e {
        E::ManifestCorrupt { path, offset, .. } => (path.clone(), Some(*offset)),
        E::BadCurrent { path, .. } | E::Fs { path, .. } => (path.clone(), None),
        E::MissingTable { path, .. } | E::TableSizeMismatch { path, .. } => (path.clone(), None),
        _ => (dir.join(quickcache_compaction::CURRENT), None),
    };
    FileProblem {
        path,
        offset,
        reason: e.to_string(),
    }
}

fn check_table(fs: &DynFs, path: &Path, expected: u64) -> Option<FileProblem> {
    let problem = |reason: String| FileProblem {
        path: path.to_path_buf(),
        offset: None,
        reason,
    };
    match fs.size(path) {
        Ok(size) if size != expected => {
            return Some(problem(format!(
                "has {size} bytes, the manifest says {expected}"
            )));
        }
        Ok(_) => {}
        Err(e) => return Some(problem(e.to_string())),
    }
    match Table::open(fs.as_ref(), path).and_then(|t| t.verify()) {
        Ok(()) => None,
        Err(e) => Some(FileProblem {
            offset: damaged_offset(&e),
            ..problem(e.to_string())
        }),
    }
}

/// Where in its file a table error found the damage, when it says.
fn damaged_offset(e: &quickcache_sstable::Error) -> Option<u64> {
    match e {
        quickcache_sstable::Error::Corruption { offset, .. }
        | quickcache_sstable::Error::ChecksumMismatch { offset, .. } => Some(*offset),
        _ => None,
    }
}

fn check_wal(fs: &DynFs, wal_dir: &Path, log_number: u64, report: &mut VerifyReport) {
    let from = Position::segment_start(SegmentId(log_number));
    let mut reader = match WalReader::new(
        Arc::clone(fs),
        wal_dir,
        from,
        RecoveryMode::TolerateCorruptTail,
    ) {
        Ok(reader) => reader,
        Err(e) => {
            report.damaged.push(wal_problem(wal_dir, &e));
            return;
        }
    };
    for record in reader.by_ref() {
        match record {
            Ok(record) => {
                report.wal_records += 1;
                let problem = if crate::is_ingest_record(record.format, &record.payload) {
                    let decoded = crate::IngestRecord::decode(&record.payload);
                    decoded
                        .err()
                        .map(|e| format!("ingest record does not decode: {e}"))
                } else {
                    let decoded = crate::open::decode_record(&record);
                    decoded
                        .err()
                        .map(|e| format!("record is not a write batch: {e}"))
                };
                if let Some(reason) = problem {
                    report.damaged.push(FileProblem {
                        path: record.position.segment.path_in(wal_dir),
                        offset: Some(record.position.offset),
                        reason,
                    });
                }
            }
            Err(e) => {
                report.damaged.push(wal_problem(wal_dir, &e));
                break;
            }
        }
    }
    let wal = reader.report();
    report.wal_segments = wal.segments.len();
    if let Some(tail) = &wal.torn_tail {
        report.warnings.push(FileProblem {
            path: tail.segment.path_in(wal_dir),
            offset: Some(tail.offset),
            reason: format!("torn tail of {} bytes ({})", tail.len, tail.reason),
        });
    }
}

fn wal_problem(wal_dir: &Path, e: &quickcache_wal::Error) -> FileProblem {
    use quickcache_wal::Error as E;
    let (path, offset) = match e {
        E::Corruption {
            segment, offset, ..
        } => (segment.path_in(wal_dir), Some(*offset)),
        E::MissingSegment { segment } | E::UnsupportedVersion { segment, .. } => {
            (segment.path_in(wal_dir), None)
        }
        E::Read { segment, .. } => (segment.path_in(wal_dir), None),
        _ => (wal_dir.to_path_buf(), None),
    };
    FileProblem {
        path,
        offset,
        reason: e.to_string(),
    }
}
