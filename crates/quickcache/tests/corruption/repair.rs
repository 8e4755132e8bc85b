//! Repair over the corruption matrix: for every case, `repair` then `open` must read
//! every key outside the damage exactly, and keys inside it only as values they once
//! held (or absent). The damage is bounded independently of the report: a damaged
//! data block loses at most a block's worth of keys, and damage outside the data
//! blocks (filter, index, properties, footer, manifest, CURRENT) loses none.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use quickcache::fs::DynFs;
use quickcache::{Db, RepairReport};

use super::cases::{Damage, cases, damage};
use super::{Base, Case, DIR, case_disk, options};

/// How many keys one damaged range may cover: a 4 KiB zeroed range spans at most
/// five 1 KiB blocks of about a dozen entries each.
const MAX_LOST_KEYS: usize = 80;

/// Keys the report says may be lost (a table's lost range holds them, or a WAL
/// record was lost and the key was written through the WAL).
fn maybe_lost(base: &Base, report: &RepairReport, k: &[u8]) -> bool {
    report.lost.iter().any(|lost| match lost.keys {
        Some(_) => lost.may_hold(k),
        None => base.wal_keys.iter().any(|w| w == k),
    })
}

/// How many keys a case may lose, judged from the damage alone (none where the data
/// blocks are intact: then none may even be reported).
/// Damage that may leave a table's range-deletion block unread: the block itself, the
/// footer that locates it, or 4 KiB zeroed across the metadata blocks. Repair then
/// reports the table's key range (keys its range deletes hid may read again: their
/// older values come back), and keys there may read a value they once held.
fn range_deletes_unreadable(case: &Case) -> bool {
    case.name.starts_with("table")
        && (case.name.contains("range deletion block")
            || case.name.contains("footer")
            || case.name.contains("zero 4 KiB"))
}

fn allowed_lost_keys(case: &Case) -> usize {
    let whole_file = matches!(case.damage, Damage::Remove | Damage::Truncate(_));
    if case.name.contains("wal") || (case.name.starts_with("table") && whole_file) {
        usize::MAX
    } else if case.name.contains("data block") || range_deletes_unreadable(case) {
        MAX_LOST_KEYS
    } else {
        0
    }
}

fn repair_case(base: &Base, case: &Case) -> Result<String, String> {
    let fs = case_disk(base, case);
    damage(&fs, &case.file, case.damage);
    let report = quickcache::repair_with(DIR, options(&fs)).map_err(|e| format!("repair: {e}"))?;
    let db = Db::open_with(DIR, options(&fs)).map_err(|e| format!("open: {e}\n{report}"))?;
    let mut lost = 0;
    for k in &base.keys {
        let got = db.get(k).map_err(|e| format!("get after repair: {e}"))?;
        let want = base.model.get(k);
        if maybe_lost(base, &report, k) {
            lost += usize::from(got.as_deref() != want.map(Vec::as_slice));
            let once_held = |v: &[u8]| {
                base.history
                    .get(k)
                    .is_some_and(|h| h.iter().any(|o| o == v))
            };
            if got.as_deref().is_some_and(|v| !once_held(v)) {
                return Err(format!("{k:?} reads a value it never held"));
            }
        } else if got.as_deref() != want.map(Vec::as_slice) {
            return Err(format!(
                "{} reads wrong outside the damage\n{report}",
                String::from_utf8_lossy(k)
            ));
        }
    }
    // The report may name a range wider than the table's keys; what was lost, and
    // where nothing may be lost what was reported, is bounded.
    let reported = base
        .keys
        .iter()
        .filter(|k| maybe_lost(base, &report, k))
        .count();
    let allowed = allowed_lost_keys(case);
    if lost > allowed || (allowed == 0 && reported > 0) {
        return Err(format!("{lost} keys lost, {reported} reported\n{report}"));
    }
    drop(db);
    // Nothing deleted: every file the repair set aside is in `lost/`.
    let fs: DynFs = Arc::new(fs);
    for moved in &report.moved {
        if !fs.exists(&moved.to).unwrap_or(false) {
            return Err(format!("{} is not in lost/", moved.to.display()));
        }
    }
    Ok(format!(
        "{lost} keys lost, {reported} reported, {} ranges",
        report.lost.len()
    ))
}

#[test]
fn repair_then_open_reads_every_key_outside_the_damage() {
    let _dog = crate::support::watchdog("repair_then_open_reads_every_key_outside_the_damage");
    let base = super::build();
    let cases = cases(&base);
    let mut failures = Vec::new();
    for case in &cases {
        match catch_unwind(AssertUnwindSafe(|| repair_case(&base, case))) {
            Ok(Ok(how)) => eprintln!("ok   {:45} {how}", case.name),
            Ok(Err(violation)) => failures.push(format!("{}: {violation}", case.name)),
            Err(_) => failures.push(format!("{}: PANIC", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
