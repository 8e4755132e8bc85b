//! The corruption matrix: every file kind (WAL segment middle and tail; a table's data
//! block, filter, index, range-deletion block, properties and footer; the manifest;
//! CURRENT; a missing or
//! truncated table) damaged by a bit flip, a zeroed 4 KiB range and a truncation. A
//! fifth of the values carry a time to live, so expiring entries are damaged too.
//!
//! The outcome is the one `docs/durability.md` ("Corruption matrix") documents: damage
//! at the WAL's tail is cut off on open and loses only the damaged records (a state
//! after a prefix of the writes); any other damage gives an error naming the file and
//! the offset, on open or on the read that touches it, while keys elsewhere keep
//! reading correctly. Never a panic, never a wrong value.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

#[path = "corruption/cases.rs"]
mod cases;
#[path = "corruption/checkpoint.rs"]
mod checkpoint;
#[path = "corruption/ingest.rs"]
mod ingest;
#[path = "corruption/repair.rs"]
mod repair;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use quickcache::fs::{CrashMode, DynFs, SimFs};
use quickcache::{Db, Durability, Options, WriteBatch, WriteOptions};
use quickcache_stress::workload::{Model, value};

use cases::{Case, Expect, cases, damage};

const DIR: &str = "/db";

pub(crate) fn options(fs: &SimFs) -> Options {
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
pub(crate) struct Base {
    fs: SimFs,
    model: Model,
    /// `wal_prefixes[n]`: the contents with only the first `n` WAL records replayed.
    wal_prefixes: Vec<Model>,
    keys: Vec<Vec<u8>>,
    /// Every value each key ever held, oldest first.
    history: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    /// The keys the WAL-only writes touched.
    wal_keys: Vec<Vec<u8>>,
}

/// Writes `k`; every fifth value (by tag) with a day-long time to live, so that the
/// tables and the WAL the cases damage hold expiring entries too (kind 4).
fn put(db: &Db, model: &mut Model, k: Vec<u8>, tag: u64, durability: Durability) {
    let v = value(tag, 60 + (tag % 90) as usize);
    let mut batch = WriteBatch::new();
    if tag.is_multiple_of(5) {
        batch.put_with_ttl(&k, &v, std::time::Duration::from_secs(86_400));
    } else {
        batch.put(&k, &v);
    }
    let options = WriteOptions {
        durability: Some(durability),
        ..WriteOptions::default()
    };
    db.write_with(batch, &options).unwrap();
    model.insert(k, v);
}

/// Bottom-level tables of 600 keys, an L0 table overwriting every fourth, then 80
/// writes only in the WAL (10 KiB, the last synced); closed cleanly.
pub(crate) fn build() -> Base {
    let fs = SimFs::new(11);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let mut model = Model::new();
    let mut history: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for i in 0..600 {
        put(&db, &mut model, key(i), u64::from(i), Durability::Os);
    }
    // Every original value, before the L0 table overwrites some.
    for (k, v) in &model {
        history.entry(k.clone()).or_default().push(v.clone());
    }
    db.compact_range(..).unwrap();
    // A range tombstone in the L0 table, so that its range-deletion block is damaged
    // too; the overwrites below land on both sides of it.
    db.delete_range(key(300)..key(330)).unwrap();
    model.retain(|k, _| !(key(300)..key(330)).contains(k));
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
    let mut wal_keys = Vec::new();
    for n in 0..80u32 {
        let i = if n % 2 == 0 { 600 + n } else { n * 7 };
        let durability = if n == 79 {
            Durability::Synced
        } else {
            Durability::Os
        };
        put(&db, &mut model, key(i), 20_000 + u64::from(n), durability);
        wal_prefixes.push(model.clone());
        wal_keys.push(key(i));
    }
    db.close().unwrap();
    let keys = (0..700).map(key).collect();
    for m in &wal_prefixes {
        for (k, v) in m {
            let seen = history.entry(k.clone()).or_default();
            if !seen.contains(v) {
                seen.push(v.clone());
            }
        }
    }
    Base {
        fs,
        model,
        wal_prefixes,
        keys,
        history,
        wal_keys,
    }
}

/// What reading the damaged database showed.
#[derive(Debug, Default)]
struct Seen {
    open_error: Option<String>,
    read_errors: Vec<String>,
    reads_ok: usize,
}

/// A copy of the base disk as the case finds it: after a power loss (the unsynced
/// clean-close marker gone), or as the clean close left it.
pub(crate) fn case_disk(base: &Base, case: &Case) -> SimFs {
    if case.after_clean_close {
        base.fs.after_kill()
    } else {
        base.fs.crash_with(CrashMode::DropUnsynced)
    }
}

/// Runs one case on a copy of the base disk; returns what it saw or the violation.
fn run_case(base: &Base, case: &Case) -> Result<Seen, String> {
    let fs = case_disk(base, case);
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
    let _dog = support::watchdog("every_file_kind_and_damage_gives_the_documented_outcome");
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
