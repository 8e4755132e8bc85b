//! The corruption matrix: every file kind (WAL segment middle and tail; a table's data
//! block, filter, index, properties and footer; the manifest; CURRENT; a missing or
//! truncated table) damaged by a bit flip, a zeroed 4 KiB range and a truncation.
//!
//! The outcome is the one `docs/durability.md` ("Corruption matrix") documents: damage
//! at the WAL's tail is cut off on open and loses only the damaged records (a state
//! after a prefix of the writes); any other damage gives an error naming the file and
//! the offset, on open or on the read that touches it, while keys elsewhere keep
//! reading correctly. Never a panic, never a wrong value.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache::fs::{CrashMode, DynFs, FileSystem, SimFs};
use quickcache::wal::SEGMENT_HEADER_LEN;
use quickcache::{Db, Durability, Options, WriteBatch, WriteOptions};
use quickcache_stress::workload::{Model, value};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        memtable_size: 256 << 10,
        table_size: 24 << 10,
        block_size: 1024,
        flush_interval: None,
        // The WAL cases need writes left in the log after a clean close.
        flush_on_close: false,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

/// The database every case damages, its contents, and the contents before each WAL
/// record (the prefixes a cut WAL tail may leave).
struct Base {
    fs: SimFs,
    model: Model,
    /// `wal_prefixes[n]`: the contents with only the first `n` WAL records replayed.
    wal_prefixes: Vec<Model>,
    keys: Vec<Vec<u8>>,
}

fn put(db: &Db, model: &mut Model, k: Vec<u8>, tag: u64, durability: Durability) {
    let v = value(tag, 60 + (tag % 90) as usize);
    let mut batch = WriteBatch::new();
    batch.put(&k, &v);
    let options = WriteOptions {
        durability: Some(durability),
    };
    db.write_with(batch, &options).unwrap();
    model.insert(k, v);
}

/// Bottom-level tables of 600 keys, an L0 table overwriting every fourth, then 80
/// writes only in the WAL (10 KiB, the last synced); closed cleanly.
fn build() -> Base {
    let fs = SimFs::new(11);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let mut model = Model::new();
    for i in 0..600 {
        put(&db, &mut model, key(i), u64::from(i), Durability::Os);
    }
    db.compact_range::<&[u8], _>(..).unwrap();
    for i in (0..600).step_by(4) {
        put(
            &db,
            &mut model,
            key(i),
            10_000 + u64::from(i),
            Durability::Os,
        );
    }
    db.flush().unwrap();
    let mut wal_prefixes = vec![model.clone()];
    for n in 0..80u32 {
        let i = if n % 2 == 0 { 600 + n } else { n * 7 };
        let durability = if n == 79 {
            Durability::Synced
        } else {
            Durability::Os
        };
        put(&db, &mut model, key(i), 20_000 + u64::from(n), durability);
        wal_prefixes.push(model.clone());
    }
    db.close().unwrap();
    let keys = (0..700).map(key).collect();
    Base {
        fs,
        model,
        wal_prefixes,
        keys,
    }
}

/// The damage done to a file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Flip the low bit of the byte at this offset.
    Flip(u64),
    /// Zero 4 KiB from this offset (to the end of the file at most).
    Zero(u64),
    /// Cut the file to this length.
    Truncate(u64),
    /// Remove the file.
    Remove,
}

fn damage(fs: &SimFs, path: &Path, damage: Damage) {
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
enum Expect {
    /// Opens, with the state after the first `n` WAL records for some `n` at least
    /// this (a cut tail).
    CutTail { at_least: usize },
    /// An error naming the file, on open or on reads touching it; other keys read.
    Error,
    /// A damaged filter is set aside when its table opens: every read stays right
    /// (through the index), and `verify` reports the table.
    FilterDropped,
}

struct Case {
    name: String,
    file: PathBuf,
    damage: Damage,
    expect: Expect,
    /// Keys that must keep reading correctly (outside the damaged file), for `Error`.
    unaffected: Vec<Vec<u8>>,
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

fn cases(base: &Base) -> Vec<Case> {
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
    for (what, t) in [("L0", l0), ("bottom", bottom)] {
        let path = dir.join(format!("{:06}.sst", t.id));
        assert!(
            fs.exists(&path).unwrap(),
            "{} is not a table",
            path.display()
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
    cases
}

/// What reading the damaged database showed.
#[derive(Debug, Default)]
struct Seen {
    open_error: Option<String>,
    read_errors: Vec<String>,
    reads_ok: usize,
}

/// Runs one case on a copy of the base disk; returns what it saw or the violation.
fn run_case(base: &Base, case: &Case) -> Result<Seen, String> {
    let fs = base.fs.crash_with(CrashMode::DropUnsynced);
    damage(&fs, &case.file, case.damage);
    let file_name = case
        .file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // WAL errors name the segment by number ("WAL segment 000003 at offset 32"); a
    // manifest that lost its last edit is found through the WAL segment its older
    // log number names, which the error calls missing.
    let stem = file_name.trim_end_matches(".log").to_string();
    let names_file = |e: &str| {
        e.contains(&file_name)
            || (file_name.ends_with(".log") && e.contains(&format!("segment {stem}")))
            || (file_name.starts_with("MANIFEST") && e.contains("the manifest lost an edit"))
    };
    let mut seen = Seen::default();
    let db = match Db::open_with(DIR, options(&fs)) {
        Ok(db) => db,
        Err(e) => {
            let msg = e.to_string();
            if matches!(case.expect, Expect::CutTail { .. }) {
                return Err(format!("open failed on a cut tail: {msg}"));
            }
            if !names_file(&msg) {
                return Err(format!("the open error does not name {file_name}: {msg}"));
            }
            seen.open_error = Some(msg);
            return Ok(seen);
        }
    };
    let expected: Vec<&Model> = match case.expect {
        Expect::CutTail { at_least } => base.wal_prefixes[at_least..].iter().collect(),
        Expect::Error | Expect::FilterDropped => vec![&base.model],
    };
    let mut got = Model::new();
    for k in &base.keys {
        match db.get(k) {
            Ok(v) => {
                seen.reads_ok += 1;
                if let Some(v) = v {
                    got.insert(k.clone(), v.to_vec());
                }
                let want_any = expected
                    .iter()
                    .any(|m| m.get(k).map(Vec::as_slice) == got.get(k).map(Vec::as_slice));
                if !want_any {
                    return Err(format!(
                        "get {:?} returned a wrong value",
                        String::from_utf8_lossy(k)
                    ));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                if !names_file(&msg) || !e.is_corruption() {
                    return Err(format!(
                        "read error does not name {file_name} as corrupt: {msg}"
                    ));
                }
                if case.unaffected.contains(k) {
                    return Err(format!("a key outside the damage failed: {msg}"));
                }
                seen.read_errors.push(msg);
            }
        }
    }
    // Scans: whatever they yield before an error is exactly the expected contents.
    for reverse in [false, true] {
        let mut pairs = Vec::new();
        let iter = db.iter();
        let items: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        for kv in items {
            match kv {
                Ok((k, v)) => pairs.push((k.to_vec(), v.to_vec())),
                Err(e) => {
                    let msg = e.to_string();
                    if !names_file(&msg) {
                        return Err(format!("scan error does not name {file_name}: {msg}"));
                    }
                    seen.read_errors.push(msg);
                    break;
                }
            }
        }
        let fits = expected.iter().any(|m| {
            let want: Vec<_> = if reverse {
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            want.starts_with(&pairs)
                && (seen.read_errors.is_empty() == (want.len() == pairs.len())
                    || !seen.read_errors.is_empty())
        });
        if !fits {
            return Err(format!(
                "a {} scan yielded pairs that are not the contents",
                if reverse { "reverse" } else { "forward" }
            ));
        }
    }
    match case.expect {
        Expect::CutTail { .. } => {
            if !seen.read_errors.is_empty() {
                return Err(format!(
                    "reads failed after a cut tail: {:?}",
                    seen.read_errors
                ));
            }
            if !expected.contains(&&got) {
                return Err("the state after a cut tail is not a prefix of the writes".into());
            }
        }
        Expect::FilterDropped => {
            if !seen.read_errors.is_empty() || got != base.model {
                return Err(format!(
                    "reads went wrong with a damaged filter: {:?}",
                    seen.read_errors
                ));
            }
            let report = quickcache::verify_with(DIR, Arc::new(fs.clone()) as DynFs).unwrap();
            if !report.damaged.iter().any(|p| p.path.ends_with(&file_name)) {
                return Err(format!(
                    "verify does not report {file_name}: {:?}",
                    report.damaged
                ));
            }
        }
        Expect::Error => {
            if seen.read_errors.is_empty() {
                return Err("the damage went unnoticed: no error on open or on any read".into());
            }
            let report = quickcache::verify_with(DIR, Arc::new(fs.clone()) as DynFs).unwrap();
            if !report.damaged.iter().any(|p| p.path.ends_with(&file_name)) {
                return Err(format!(
                    "verify does not report {file_name}: {:?}",
                    report.damaged
                ));
            }
        }
    }
    Ok(seen)
}

#[test]
fn every_file_kind_and_damage_gives_the_documented_outcome() {
    let base = build();
    let cases = cases(&base);
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(&base, case)));
        match outcome {
            Ok(Ok(seen)) => {
                let how = match (&seen.open_error, seen.read_errors.first()) {
                    (Some(e), _) => format!("open error: {e}"),
                    (None, Some(e)) => format!("{} reads ok, errors like: {e}", seen.reads_ok),
                    (None, None) => format!("opens, {} reads ok", seen.reads_ok),
                };
                eprintln!("ok   {:45} {how}", case.name);
            }
            Ok(Err(violation)) => failures.push(format!("{}: {violation}", case.name)),
            Err(_) => failures.push(format!("{}: PANIC", case.name)),
        }
    }
    eprintln!("{} corruption cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
