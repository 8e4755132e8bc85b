//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::Arc;

use quickcache_fs::{DynFs, SimFs};
use quickcache_wal::frame::{Frame, decode_frame};
use quickcache_wal::{
    Durability, Position, RecoveryMode, RecoveryReport, Wal, WalOptions, WalReader,
};
use quickcache_wal::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, SegmentId, list_segments};

/// The directory every simulated test log lives in.
pub(crate) const DIR: &str = "/db/wal";

/// Options for deterministic tests: no flush thread, small segments.
pub(crate) fn options(wal_segment_size: u64) -> WalOptions {
    WalOptions {
        wal_segment_size,
        flush_interval: None,
        ..WalOptions::default()
    }
}

/// The payload of record `i`: its number and a length that varies with it.
pub(crate) fn payload(i: usize) -> Vec<u8> {
    let mut p = format!("record-{i:05}-").into_bytes();
    p.resize(p.len() + (i * 37) % 300, (i % 251) as u8);
    p
}

/// Every payload in the log at `DIR`, read in `mode`.
pub(crate) fn read_payloads(
    fs: &DynFs,
    mode: RecoveryMode,
) -> quickcache_wal::Result<Vec<Vec<u8>>> {
    WalReader::new(fs.clone(), DIR, Position::START, mode)?
        .map(|r| r.map(|r| r.payload))
        .collect()
}

/// A simulated disk as a shared handle.
pub(crate) fn sim(seed: u64) -> (SimFs, DynFs) {
    let sim = SimFs::new(seed);
    let fs: DynFs = Arc::new(sim.clone());
    (sim, fs)
}

/// Opens the log at `DIR` on `fs`.
pub(crate) fn open(fs: &DynFs, options: WalOptions) -> quickcache_wal::Result<Wal> {
    Wal::open(fs.clone(), DIR, options).map(|(wal, _)| wal)
}

/// The durability level of record `i` in the workloads: a mix of all three.
pub(crate) fn durability_of(i: usize) -> Durability {
    match (i * 7) % 10 {
        0..=3 => Durability::Buffered,
        4..=7 => Durability::Os,
        _ => Durability::Synced,
    }
}

/// What a workload did, kept outside the (faulty) storage: every record it tried to
/// append, in order, and how many leading records were acknowledged as durable.
#[derive(Debug, Default)]
pub(crate) struct Oracle {
    pub(crate) attempted: Vec<Vec<u8>>,
    pub(crate) durable: usize,
    pub(crate) first_error: Option<String>,
    /// Errors after the first one, which a poisoned writer must all attribute to it.
    pub(crate) later_errors: Vec<quickcache_wal::Error>,
    /// Calls that succeeded after an error had been reported.
    pub(crate) successes_after_error: usize,
}

impl Oracle {
    pub(crate) fn note(&mut self, result: quickcache_wal::Result<()>, durable_upto: Option<usize>) {
        match result {
            Ok(()) if self.first_error.is_some() => self.successes_after_error += 1,
            Ok(()) => {
                if let Some(n) = durable_upto {
                    self.durable = n;
                }
            }
            Err(e) if self.first_error.is_none() => self.first_error = Some(e.to_string()),
            Err(e) => self.later_errors.push(e),
        }
    }

    /// Checks the recovered payloads: a prefix of what was attempted, holding at least
    /// everything acknowledged as durable.
    pub(crate) fn check(&self, recovered: &[Vec<u8>], context: &str) {
        assert!(
            self.attempted.starts_with(recovered),
            "{context}: recovered {} records that are not a prefix of the {} attempted",
            recovered.len(),
            self.attempted.len()
        );
        assert!(
            recovered.len() >= self.durable,
            "{context}: lost synced records: recovered {}, {} were synced",
            recovered.len(),
            self.durable
        );
    }
}

/// Appends `records` records at mixed durability, with flushes, syncs and rotations
/// in between, noting every outcome. Keeps going after errors, so that a poisoned
/// writer's later answers are checked too.
pub(crate) fn run_workload(wal: &Wal, records: usize, oracle: &mut Oracle) {
    for i in 0..records {
        let durability = durability_of(i);
        oracle.attempted.push(payload(i));
        let synced = (durability == Durability::Synced).then_some(i + 1);
        oracle.note(wal.append(&payload(i), durability).map(drop), synced);
        if i % 50 == 49 {
            oracle.note(wal.flush(), None);
        }
        if i % 97 == 96 {
            oracle.note(wal.sync(), Some(i + 1));
        }
        if i % 120 == 119 {
            oracle.note(wal.rotate().map(drop), None);
        }
    }
}

/// Recovers the log at `DIR` in the default mode: the payloads, the writer, the report.
pub(crate) fn recover(
    fs: &DynFs,
    options: WalOptions,
) -> quickcache_wal::Result<(Vec<Vec<u8>>, Wal, RecoveryReport)> {
    let mut recovery = Wal::recover(fs.clone(), DIR, options, Position::START)?;
    let payloads = recovery
        .by_ref()
        .map(|r| r.map(|r| r.payload))
        .collect::<quickcache_wal::Result<Vec<_>>>()?;
    let (wal, report) = recovery.finish()?;
    Ok((payloads, wal, report))
}

/// Checks that every segment but the last (the writer's, which is preallocated) ends
/// exactly at its last record: the writer and recovery cut unused preallocated space
/// off a segment before a later one exists.
pub(crate) fn assert_finished_segments_are_cut(fs: &DynFs, context: &str) {
    let segments = list_segments(&**fs, DIR.as_ref()).unwrap_or_default();
    let Some((_, finished)) = segments.split_last() else {
        return;
    };
    let mut ends: Vec<(SegmentId, u64)> = finished
        .iter()
        .map(|&s| (s, SEGMENT_HEADER_LEN as u64))
        .collect();
    let reader = WalReader::new(fs.clone(), DIR, Position::START, RecoveryMode::SkipCorrupt);
    for record in reader.into_iter().flatten().flatten() {
        let end = record.position.offset + (RECORD_HEADER_LEN + record.payload.len()) as u64;
        if let Some(e) = ends.iter_mut().find(|(s, _)| *s == record.position.segment) {
            e.1 = end;
        }
    }
    for (segment, mut end) in ends {
        // Sync marks may follow the last record; they are frames too.
        if let Ok(bytes) = fs.read_file(&segment.path_in(DIR.as_ref())) {
            while let Ok(Frame::SyncMark { next, .. }) =
                decode_frame(&bytes, segment, end as usize, true)
            {
                end = next as u64;
            }
        }
        let size = fs.size(&segment.path_in(DIR.as_ref())).ok();
        assert_eq!(
            size,
            Some(end),
            "{context}: finished segment {segment} is not cut to its records"
        );
    }
}
