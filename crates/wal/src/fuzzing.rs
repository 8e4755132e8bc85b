//! Entry point of the `wal_segment` fuzz target in `fuzz/`, also replayed over the
//! committed seed corpus by `cargo test` (`tests/fuzz_corpus.rs`), so both run the
//! same code.
//!
//! [`wal_segment`] feeds arbitrary bytes to the reader as a segment file and checks
//! properties that must hold for every input. Damage and corruption errors are
//! expected and fine; `Err` means a property failed, which is a bug (the fuzz target
//! panics on it). Not part of the stable API.

use std::path::Path;
use std::sync::Arc;

use quickcache_fs::{DynFs, SimFs};

use crate::format::encode_segment_header;
use crate::{
    Durability, Position, Record, RecoveryMode, SegmentId, Wal, WalOptions, WalReader, record,
};

/// A violated invariant, described.
pub type Violation = String;

const DIR: &str = "/wal";
const MODES: [RecoveryMode; 3] = [
    RecoveryMode::AbsoluteConsistency,
    RecoveryMode::TolerateCorruptTail,
    RecoveryMode::SkipCorrupt,
];

/// What reading in one mode gave: the records before the end or the error, and
/// whether it ended in an error.
#[derive(Debug)]
struct Outcome {
    records: Vec<Record>,
    failed: bool,
}

/// Feeds `data` to the reader as segment 1, alone and followed by an intact segment 2,
/// in every recovery mode, then recovers and appends. Returns the first invariant
/// that does not hold.
pub fn wal_segment(data: &[u8]) -> Result<(), Violation> {
    for followed in [false, true] {
        let fs: DynFs = Arc::new(SimFs::new(0));
        write_log(&fs, data, followed).map_err(|e| format!("setup: {e}"))?;
        let outcomes = MODES
            .iter()
            .map(|&mode| read_all(&fs, mode, data.len()))
            .collect::<Result<Vec<_>, _>>()?;
        compare_modes(&outcomes, followed)?;
        for (mode, outcome) in MODES.iter().zip(&outcomes) {
            check_repair(&fs, *mode, outcome)?;
        }
    }
    Ok(())
}

fn write_file(fs: &DynFs, name: &str, bytes: &[u8]) -> quickcache_fs::Result<()> {
    let mut file = fs.create(&Path::new(DIR).join(name))?;
    file.append(bytes)?;
    file.sync_data()?;
    file.close()
}

fn write_log(fs: &DynFs, data: &[u8], followed: bool) -> Result<(), String> {
    fs.create_dir_all(Path::new(DIR))
        .map_err(|e| e.to_string())?;
    write_file(fs, &SegmentId(1).file_name(), data).map_err(|e| e.to_string())?;
    if followed {
        let id = SegmentId(2);
        let mut bytes = encode_segment_header(id).to_vec();
        let at = bytes.len() as u64;
        record::encode(&mut bytes, id, at, b"next").map_err(|e| e.to_string())?;
        write_file(fs, &id.file_name(), &bytes).map_err(|e| e.to_string())?;
    }
    fs.sync_dir(Path::new(DIR)).map_err(|e| e.to_string())
}

/// Reads the whole log, checking that it ends, in order, within the file's bytes.
fn read_all(fs: &DynFs, mode: RecoveryMode, data_len: usize) -> Result<Outcome, Violation> {
    let reader = WalReader::new(fs.clone(), DIR, Position::START, mode)
        .map_err(|e| format!("{mode:?}: listing failed: {e}"))?;
    // Every record takes at least a frame header, so more items means a loop.
    let bound = data_len / record::RECORD_HEADER_LEN + 8;
    let mut outcome = Outcome {
        records: Vec::new(),
        failed: false,
    };
    for item in reader {
        match item {
            Ok(record) => outcome.records.push(record),
            Err(_) => outcome.failed = true,
        }
        if outcome.records.len() > bound {
            return Err(format!("{mode:?}: more than {bound} records"));
        }
    }
    let versions = crate::OLDEST_FORMAT_VERSION..=crate::FORMAT_VERSION;
    if let Some(r) = outcome
        .records
        .iter()
        .find(|r| !versions.contains(&r.format))
    {
        return Err(format!(
            "{mode:?}: record at {} of version {}",
            r.position, r.format
        ));
    }
    for pair in outcome.records.windows(2) {
        if pair[0].position >= pair[1].position {
            return Err(format!("{mode:?}: positions out of order: {pair:?}"));
        }
    }
    let in_data = |r: &&Record| r.position.segment == SegmentId(1);
    if let Some(r) = outcome
        .records
        .iter()
        .filter(in_data)
        .find(|r| r.payload.len() > data_len)
    {
        return Err(format!(
            "{mode:?}: record at {} larger than the file",
            r.position
        ));
    }
    Ok(outcome)
}

fn is_prefix(short: &[Record], long: &[Record]) -> bool {
    long.starts_with(short)
}

/// Stricter modes return prefixes of what more lenient modes return, and agree
/// wherever the stricter mode succeeds.
fn compare_modes(outcomes: &[Outcome], followed: bool) -> Result<(), Violation> {
    let [absolute, tolerate, skip] = outcomes else {
        return Err("one outcome per mode expected".into());
    };
    if !is_prefix(&absolute.records, &tolerate.records)
        || !is_prefix(&tolerate.records, &skip.records)
    {
        return Err("a stricter mode returned records a lenient mode did not".into());
    }
    if !absolute.failed && (tolerate.failed || tolerate.records != absolute.records) {
        return Err("tolerate mode disagrees with a successful absolute read".into());
    }
    if !tolerate.failed && skip.failed {
        return Err("skip mode failed where tolerate mode succeeded".into());
    }
    let ends_with_next = |o: &Outcome| o.records.last().is_some_and(|r| r.payload == b"next");
    for (outcome, name) in [
        (absolute, "absolute"),
        (tolerate, "tolerate"),
        (skip, "skip"),
    ] {
        if followed && !outcome.failed && !ends_with_next(outcome) {
            return Err(format!(
                "{name} mode lost the record of the intact segment 2"
            ));
        }
    }
    Ok(())
}

/// Recovery in `mode` then one append: recovery fails exactly when reading failed,
/// and afterwards the log reads back as before plus the new record.
fn check_repair(fs: &DynFs, mode: RecoveryMode, before: &Outcome) -> Result<(), Violation> {
    let copy: DynFs = Arc::new(SimFs::new(0));
    copy_dir(fs, &copy).map_err(|e| format!("copy: {e}"))?;
    let options = WalOptions {
        flush_interval: None,
        recovery_mode: mode,
        ..WalOptions::default()
    };
    let opened = Wal::open(copy.clone(), DIR, options);
    let wal = match (opened, before.failed) {
        (Ok((wal, _)), false) => wal,
        (Err(_), true) => return Ok(()),
        (Ok(_), true) => {
            return Err(format!(
                "{mode:?}: recovery accepted a log reading rejected"
            ));
        }
        (Err(e), false) => return Err(format!("{mode:?}: recovery failed on a readable log: {e}")),
    };
    wal.append(b"after", Durability::Synced)
        .and_then(|_| wal.close())
        .map_err(|e| format!("{mode:?}: append after recovery: {e}"))?;
    let reread_mode = match mode {
        RecoveryMode::SkipCorrupt => RecoveryMode::SkipCorrupt,
        _ => RecoveryMode::AbsoluteConsistency,
    };
    let after = read_all(&copy, reread_mode, usize::MAX / 2)?;
    let payloads = |rs: &[Record]| rs.iter().map(|r| r.payload.clone()).collect::<Vec<_>>();
    let mut expected = payloads(&before.records);
    expected.push(b"after".to_vec());
    if after.failed || payloads(&after.records) != expected {
        return Err(format!(
            "{mode:?}: after recovery and one append the log reads differently"
        ));
    }
    Ok(())
}

fn copy_dir(from: &DynFs, to: &DynFs) -> quickcache_fs::Result<()> {
    let dir = Path::new(DIR);
    to.create_dir_all(dir)?;
    for name in from.list(dir)? {
        write_file(to, &name, &from.read_file(&dir.join(&name))?)?;
    }
    to.sync_dir(dir)
}
