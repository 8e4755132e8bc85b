//! The corruption matrix's cases: which file is damaged, how, and what must follow,
//! with the helpers that find a table's blocks and do the damage.

use std::path::{Path, PathBuf};

use quickcache::fs::{FileSystem, SimFs};
use quickcache_wal::SEGMENT_HEADER_LEN;

use quickcache::fs::CrashMode;
use quickcache::{Compression, Db};
use quickcache_sstable::Table;

use super::{Base, DIR, key, options};

/// The damage done to a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Damage {
    /// Flip the low bit of the byte at this offset.
    Flip(u64),
    /// Zero 4 KiB from this offset (to the end of the file at most).
    Zero(u64),
    /// Cut the file to this length.
    Truncate(u64),
    /// Remove the file.
    Remove,
}

pub(crate) fn damage(fs: &SimFs, path: &Path, damage: Damage) {
    if let Damage::Remove = damage {
        fs.remove(path).unwrap();
        return;
    }
    let mut bytes = fs.read_file(path).unwrap();
    match damage {
        Damage::Flip(at) => bytes[at as usize] ^= 1,
        Damage::Zero(at) => {
            let end = (at as usize + 4096).min(bytes.len());
            bytes[at as usize..end].fill(0);
        }
        Damage::Truncate(len) => bytes.truncate(len as usize),
        Damage::Remove => {}
    }
    let mut file = fs.create(path).unwrap();
    file.append(&bytes).unwrap();
    file.sync_all().unwrap();
    file.close().unwrap();
}

/// What a case must lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Opens, with the state after the first `n` WAL records for some `n` at least
    /// this (a cut tail).
    CutTail { at_least: usize },
    /// An error naming the file, on open or on reads touching it; other keys read.
    Error,
    /// A damaged filter is set aside when its table opens: every read stays right
    /// (through the index), and `verify` reports the table.
    FilterDropped,
}

pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
    pub(crate) damage: Damage,
    pub(crate) expect: Expect,
    /// Keys that must keep reading correctly (outside the damaged file), for `Error`.
    pub(crate) unaffected: Vec<Vec<u8>>,
    /// Whether the damage is found with the clean-close marker still there (the disk
    /// as the clean close left it), rather than after a power loss that dropped it.
    pub(crate) after_clean_close: bool,
}

/// A table's blocks, from its footer (docs/format/sstable.md): data blocks start at
/// 0; the filter (if any), index and properties blocks follow, then the footer.
struct Layout {
    len: u64,
    filter: Option<(u64, u64)>,
    index: (u64, u64),
    properties: (u64, u64),
}

fn layout(fs: &SimFs, path: &Path) -> Layout {
    let bytes = fs.read_file(path).unwrap();
    let footer = &bytes[bytes.len() - 72..];
    let at = |i: usize| u64::from_le_bytes(footer[i..i + 8].try_into().unwrap());
    Layout {
        len: bytes.len() as u64,
        filter: (at(24) > 0).then(|| (at(16), at(24))),
        index: (at(0), at(8)),
        properties: (at(32), at(40)),
    }
}

pub(crate) fn cases(base: &Base) -> Vec<Case> {
    let fs = &base.fs;
    let dir = Path::new(DIR);
    let mut cases = Vec::new();
    let mut add = |name: String, file: &Path, damage: Damage, expect: Expect, unaffected| {
        cases.push(Case {
            name,
            file: file.to_path_buf(),
            damage,
            expect,
            unaffected,
            after_clean_close: false,
        });
    };

    // WAL: the live segment holds the 80 WAL-only records.
    let wal_dir = dir.join("wal");
    let mut segments = fs.list(&wal_dir).unwrap();
    segments.sort();
    let seg = wal_dir.join(segments.last().unwrap());
    let seg_len = fs.size(&seg).unwrap();
    let header = SEGMENT_HEADER_LEN as u64;
    let tail = Expect::CutTail { at_least: 0 };
    let last_lost = Expect::CutTail { at_least: 79 };
    add(
        "wal tail: flip in the last record".into(),
        &seg,
        Damage::Flip(seg_len - 3),
        last_lost,
        vec![],
    );
    add(
        "wal tail: truncate 1 byte".into(),
        &seg,
        Damage::Truncate(seg_len - 1),
        last_lost,
        vec![],
    );
    add(
        "wal tail: truncate in the middle".into(),
        &seg,
        Damage::Truncate(seg_len / 2),
        tail,
        vec![],
    );
    add(
        "wal tail: zero the last 4 KiB".into(),
        &seg,
        Damage::Zero(seg_len - 4096),
        tail,
        vec![],
    );
    let table_keys: Vec<Vec<u8>> = base
        .keys
        .iter()
        .filter(|k| k.as_slice() < key(600).as_slice())
        .cloned()
        .collect();
    add(
        "wal middle: flip in the first record".into(),
        &seg,
        Damage::Flip(header + 20),
        Expect::Error,
        table_keys.clone(),
    );
    add(
        "wal middle: zero 4 KiB after the header".into(),
        &seg,
        Damage::Zero(header),
        Expect::Error,
        table_keys.clone(),
    );
    add(
        "wal: flip in the segment header".into(),
        &seg,
        Damage::Flip(3),
        Expect::Error,
        table_keys.clone(),
    );

    let mut after_clean_close = Vec::new();
    // After a clean close (its marker kept) the tail cannot be torn: damage there is
    // corruption. And a lost newest segment is never taken for the end of the log.
    for (what, damage) in [
        ("flip in the last record", Damage::Flip(seg_len - 3)),
        ("truncate 1 byte", Damage::Truncate(seg_len - 1)),
        ("zero the last 4 KiB", Damage::Zero(seg_len - 4096)),
        ("segment missing", Damage::Remove),
    ] {
        let name = format!("wal tail after a clean close: {what}");
        add(
            name.clone(),
            &seg,
            damage,
            Expect::Error,
            table_keys.clone(),
        );
        after_clean_close.push(name);
    }
    add(
        "wal: the newest segment missing after a power loss".into(),
        &seg,
        Damage::Remove,
        Expect::Error,
        table_keys.clone(),
    );

    // Tables: the newest L0 table and the first bottom-level table.
    let db = Db::open_with(DIR, options(&fs.crash_with(CrashMode::DropUnsynced))).unwrap();
    let stats = db.stats();
    drop(db);
    let l0 = &stats.levels[0].tables[0];
    let bottom = &stats
        .levels
        .iter()
        .rev()
        .find(|l| l.files > 0)
        .unwrap()
        .tables[0];
    // With the default compression, L0 tables are stored uncompressed and the bottom
    // level's blocks with zstd: the matrix damages both kinds of data block.
    for (what, t, kind) in [
        ("L0", l0, Compression::None),
        ("bottom (zstd blocks)", bottom, Compression::Zstd),
    ] {
        let path = dir.join(format!("{:06}.sst", t.id));
        assert!(
            fs.exists(&path).unwrap(),
            "{} is not a table",
            path.display()
        );
        let blocks = Table::open(fs, &path)
            .unwrap()
            .data_block_compression()
            .unwrap();
        assert!(
            blocks.len() > 2 && blocks.iter().all(|&b| b == kind),
            "table {what}: blocks stored as {blocks:?}"
        );
        // Keys outside the table's range, that no read of it touches.
        let outside: Vec<Vec<u8>> = base
            .keys
            .iter()
            .filter(|k| **k < t.smallest || **k > t.largest)
            .filter(|k| **k < key(600))
            .cloned()
            .collect();
        let l = layout(fs, &path);
        let data_end = l.filter.map_or(l.index.0, |f| f.0);
        if let Some((off, len)) = l.filter {
            add(
                format!("table {what}: flip in the filter block"),
                &path,
                Damage::Flip(off + len / 2),
                Expect::FilterDropped,
                outside.clone(),
            );
        }
        let mut region = |name: &str, start: u64, len: u64, flip: bool| {
            if flip {
                let mid = start + len / 2;
                add(
                    format!("table {what}: flip in {name}"),
                    &path,
                    Damage::Flip(mid),
                    Expect::Error,
                    outside.clone(),
                );
            }
            add(
                format!("table {what}: zero 4 KiB of {name}"),
                &path,
                Damage::Zero(start),
                Expect::Error,
                outside.clone(),
            );
        };
        region("the first data block", 0, 64, true);
        region("a middle data block", data_end / 2, 64, true);
        if let Some((off, len)) = l.filter {
            region("the filter block", off, len, false);
        }
        region("the index block", l.index.0, l.index.1, true);
        // The range-deletion block lies between the index and the properties blocks.
        let index_end = l.index.0 + l.index.1 + 9;
        if l.properties.0 > index_end {
            region(
                "the range deletion block",
                index_end,
                l.properties.0 - index_end - 9,
                true,
            );
        } else {
            assert!(what != "L0", "the L0 table has no range deletion block");
        }
        region("the properties block", l.properties.0, l.properties.1, true);
        region("the footer", l.len - 72, 72, true);
        add(
            format!("table {what}: truncate by 1 byte"),
            &path,
            Damage::Truncate(l.len - 1),
            Expect::Error,
            outside.clone(),
        );
        add(
            format!("table {what}: truncate to half"),
            &path,
            Damage::Truncate(l.len / 2),
            Expect::Error,
            outside.clone(),
        );
        add(
            format!("table {what}: missing"),
            &path,
            Damage::Remove,
            Expect::Error,
            outside.clone(),
        );
    }

    // The manifest and CURRENT.
    let current = dir.join("CURRENT");
    let name = String::from_utf8(fs.read_file(&current).unwrap()).unwrap();
    let manifest = dir.join(name.trim_end());
    let m_len = fs.size(&manifest).unwrap();
    add(
        "manifest: flip in the first edit".into(),
        &manifest,
        Damage::Flip(header + 20),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: flip in the header".into(),
        &manifest,
        Damage::Flip(2),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: zero 4 KiB after the header".into(),
        &manifest,
        Damage::Zero(header),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: flip in the last edit".into(),
        &manifest,
        Damage::Flip(m_len - 3),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: truncate 1 byte".into(),
        &manifest,
        Damage::Truncate(m_len - 1),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: truncate to the header".into(),
        &manifest,
        Damage::Truncate(header),
        Expect::Error,
        vec![],
    );
    add(
        "manifest: missing".into(),
        &manifest,
        Damage::Remove,
        Expect::Error,
        vec![],
    );
    add(
        "CURRENT: missing".into(),
        &current,
        Damage::Remove,
        Expect::Error,
        vec![],
    );
    add(
        "CURRENT: flip".into(),
        &current,
        Damage::Flip(3),
        Expect::Error,
        vec![],
    );
    add(
        "CURRENT: zeroed".into(),
        &current,
        Damage::Zero(0),
        Expect::Error,
        vec![],
    );
    add(
        "CURRENT: truncated to 0".into(),
        &current,
        Damage::Truncate(0),
        Expect::Error,
        vec![],
    );
    add(
        "CURRENT: truncated by 2".into(),
        &current,
        Damage::Truncate(name.len() as u64 - 2),
        Expect::Error,
        vec![],
    );
    for case in &mut cases {
        case.after_clean_close = after_clean_close.contains(&case.name);
    }
    cases
}
