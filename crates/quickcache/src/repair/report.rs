//! `RepairReport`: what a repair kept, salvaged and lost.

use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;

/// A range of user keys: lower and upper bound.
pub type KeyBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Data a repair could not recover: a damaged part of a table or WAL segment, or a
/// table the manifest listed that is gone.
///
/// # Examples
/// ```
/// use std::ops::Bound;
/// use quickcache::LostRange;
/// let lost = LostRange {
///     file: "/db/000006.sst".into(),
///     offset: 8870,
///     len: 1033,
///     reason: "checksum mismatch".into(),
///     keys: Some((Bound::Excluded(b"k10".to_vec()), Bound::Included(b"k20".to_vec()))),
/// };
/// assert!(lost.may_hold(b"k15") && !lost.may_hold(b"k10") && lost.may_hold(b"k20"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRange {
    /// The file the data was in (its original path).
    pub file: PathBuf,
    /// Byte offset of the lost part.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Why it could not be read.
    pub reason: String,
    /// The user keys whose newest entries may have been in it, when known (a table's
    /// block lies between the keys read around it); `None` for WAL records, which may
    /// hold any key.
    pub keys: Option<KeyBounds>,
}

impl LostRange {
    /// Whether `key` may have had entries in the lost data: in its key range, or any
    /// key when the range is unknown.
    pub fn may_hold(&self, key: &[u8]) -> bool {
        let Some((lo, hi)) = &self.keys else {
            return true;
        };
        let above = match lo {
            Bound::Included(l) => key >= l.as_slice(),
            Bound::Excluded(l) => key > l.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match hi {
            Bound::Included(h) => key <= h.as_slice(),
            Bound::Excluded(h) => key < h.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }
}

/// A file a repair moved into the `lost/` folder, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedFile {
    /// Where it was.
    pub from: PathBuf,
    /// Where it is now (under `lost/`).
    pub to: PathBuf,
    /// Why it was moved: damaged (its readable entries were salvaged), obsolete, the
    /// old manifest, a WAL segment whose records are now in tables.
    pub why: String,
}

/// What [`crate::repair`] did.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// db.close()?;
/// let report = quickcache::repair(dir.path())?;
/// assert!(report.lost_nothing(), "{report}");
/// // The close flushed the write into a table, which is kept as it is.
/// assert_eq!(report.tables_kept, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Intact tables kept as they were.
    pub tables_kept: usize,
    /// Damaged tables whose readable entries were written to new tables.
    pub tables_salvaged: usize,
    /// Entries salvaged from damaged tables.
    pub entries_salvaged: u64,
    /// WAL segments read.
    pub wal_segments: usize,
    /// WAL records turned into tables.
    pub wal_records: u64,
    /// New tables written (salvaged tables and the WAL's contents).
    pub tables_written: usize,
    /// Keyspaces of the rebuilt database besides the default, by id and name (those
    /// whose name was lost are named `recovered-<id>`).
    pub keyspaces: Vec<(u32, String)>,
    /// What could not be recovered.
    pub lost: Vec<LostRange>,
    /// Manifest records that could not be read (the manifest is rebuilt anyway).
    pub manifest_damage: Vec<String>,
    /// Files moved into `lost/`.
    pub moved: Vec<MovedFile>,
    /// The manifest the repair wrote.
    pub manifest: PathBuf,
    /// The largest sequence number found.
    pub last_seqno: u64,
}

impl RepairReport {
    /// Whether nothing was lost: no damaged block or record, no missing table.
    pub fn lost_nothing(&self) -> bool {
        self.lost.is_empty()
    }
}

/// A bound as text: `[k` / `(k` below, `k]` / `k)` above, bytes escaped.
fn bound(b: &Bound<Vec<u8>>, upper: bool) -> String {
    let key = |k: &[u8]| k.escape_ascii().to_string();
    match (b, upper) {
        (Bound::Included(k), false) => format!("[{}", key(k)),
        (Bound::Excluded(k), false) => format!("({}", key(k)),
        (Bound::Included(k), true) => format!("{}]", key(k)),
        (Bound::Excluded(k), true) => format!("{})", key(k)),
        (Bound::Unbounded, false) => "(start".to_owned(),
        (Bound::Unbounded, true) => "end)".to_owned(),
    }
}

impl fmt::Display for LostRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes {}..{}: {}",
            self.file.display(),
            self.offset,
            self.offset.saturating_add(self.len),
            self.reason
        )?;
        match &self.keys {
            Some((lo, hi)) => write!(f, "; keys {}, {}", bound(lo, false), bound(hi, true)),
            None => write!(f, "; keys unknown (WAL records)"),
        }
    }
}

impl fmt::Display for RepairReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "new manifest: {}", self.manifest.display())?;
        writeln!(
            f,
            "tables: {} kept, {} salvaged ({} entries), {} written",
            self.tables_kept, self.tables_salvaged, self.entries_salvaged, self.tables_written
        )?;
        writeln!(
            f,
            "WAL: {} segments, {} records turned into tables",
            self.wal_segments, self.wal_records
        )?;
        for (id, name) in &self.keyspaces {
            writeln!(f, "keyspace {id}: {name}")?;
        }
        for damage in &self.manifest_damage {
            writeln!(f, "manifest damage: {damage}")?;
        }
        for m in &self.moved {
            writeln!(
                f,
                "moved {} to {} ({})",
                m.from.display(),
                m.to.display(),
                m.why
            )?;
        }
        if self.lost.is_empty() {
            return writeln!(f, "lost: nothing");
        }
        for lost in &self.lost {
            writeln!(f, "lost: {lost}")?;
        }
        Ok(())
    }
}
