//! The writer through the public API: positions, durability levels, rotation,
//! deletion, reopening, poisoning, concurrency.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{DIR, open, options, payload, read_payloads, sim};
use quickcache_fs::{Fault, FaultPlan, Op, RealFs};
use quickcache_wal::{
    Durability, Error, MAX_RECORD_LEN, Position, RecoveryMode, SegmentId, Wal, WalOptions,
    WalReader, list_segments,
};

#[test]
fn wal_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Wal>();
}

#[test]
fn records_are_in_the_order_of_their_preparation_and_a_failed_one_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(RealFs::new());
    let (wal, _) = Wal::open(fs.clone(), dir.path(), WalOptions::default()).unwrap();
    let next = std::sync::Mutex::new(0u32);
    let wal = &wal;
    // Each thread numbers its record in `prepare`: the log must be in number order.
    thread::scope(|scope| {
        for t in 0..4u32 {
            let next = &next;
            scope.spawn(move || {
                for _ in 0..50 {
                    let mut payload = [0u8; 8];
                    let (n, position) = wal
                        .append_with(Durability::Os, || {
                            let mut next = next.lock().unwrap();
                            *next += 1;
                            payload[..4].copy_from_slice(&next.to_le_bytes());
                            payload[4..].copy_from_slice(&t.to_le_bytes());
                            Ok::<_, ()>((*next, &payload[..]))
                        })
                        .unwrap();
                    assert!(position.is_ok(), "record {n}: {position:?}");
                }
            });
        }
    });
    assert_eq!(
        wal.append_with(Durability::Synced, || Err::<((), &[u8]), _>("refused"))
            .unwrap_err(),
        "refused"
    );
    wal.close().unwrap();
    let numbers: Vec<u32> = WalReader::new(
        fs,
        dir.path(),
        Position::START,
        RecoveryMode::AbsoluteConsistency,
    )
    .unwrap()
    .map(|r| {
        let payload = r.unwrap().payload;
        u32::from_le_bytes(payload[..4].try_into().unwrap())
    })
    .collect();
    assert_eq!(numbers, (1..=200).collect::<Vec<u32>>());
}

#[test]
fn positions_returned_by_append_are_where_the_records_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(RealFs::new());
    let (wal, report) = Wal::open(fs.clone(), dir.path(), WalOptions::default()).unwrap();
    assert!(report.is_clean() && report.segments.is_empty());
    let levels = [Durability::Buffered, Durability::Os, Durability::Synced];
    let positions: Vec<Position> = (0..30)
        .map(|i| wal.append(&payload(i), levels[i % 3]).unwrap())
        .collect();
    wal.close().unwrap();
    let records: Vec<_> = WalReader::new(
        fs,
        dir.path(),
        Position::START,
        RecoveryMode::AbsoluteConsistency,
    )
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(records.len(), 30);
    for (i, r) in records.iter().enumerate() {
        assert_eq!((r.position, &r.payload), (positions[i], &payload(i)));
    }
    assert_eq!(
        positions[0],
        Position {
            segment: SegmentId(1),
            offset: 32
        }
    );
}

#[test]
fn segments_rotate_past_the_size_limit_and_on_request() {
    let (_sim, fs) = sim(1);
    let wal = open(&fs, options(1024)).unwrap();
    let mut positions = Vec::new();
    for i in 0..40 {
        positions.push(wal.append(&payload(i), Durability::Os).unwrap());
    }
    let before = wal.current_segment();
    assert!(
        before > SegmentId(3),
        "1 KiB segments should have rotated: {before}"
    );
    for pair in positions.windows(2) {
        assert!(pair[0] < pair[1]);
    }
    let next = wal.rotate().unwrap();
    assert_eq!(next, before.next());
    // A segment without records is not rotated again.
    assert_eq!(wal.rotate().unwrap(), next);
    assert_eq!(wal.append(b"x", Durability::Os).unwrap().segment, next);
    wal.close().unwrap();
    let listed = list_segments(&*fs, DIR.as_ref()).unwrap();
    assert_eq!(listed.last(), Some(&next));
    let read = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(read.len(), 41);
}

#[test]
fn delete_segments_below_removes_only_lower_segments_and_not_the_current_one() {
    let (_sim, fs) = sim(2);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"in one", Durability::Os).unwrap();
    let two = wal.rotate().unwrap();
    wal.append(b"in two", Durability::Os).unwrap();
    let three = wal.rotate().unwrap();
    assert!(matches!(
        wal.delete_segments_below(three.next()),
        Err(Error::SegmentInUse { .. })
    ));
    assert_eq!(wal.delete_segments_below(two).unwrap(), 1);
    assert_eq!(wal.delete_segments_below(two).unwrap(), 0);
    wal.append(b"in three", Durability::Synced).unwrap();
    let read = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(read, vec![b"in two".to_vec(), b"in three".to_vec()]);
}

#[test]
fn reopening_continues_a_short_clean_last_segment() {
    let (_sim, fs) = sim(3);
    let wal = open(&fs, options(1 << 20)).unwrap();
    let first = wal.append(b"first run", Durability::Os).unwrap();
    wal.close().unwrap();
    let wal = open(&fs, options(1 << 20)).unwrap();
    assert_eq!(wal.current_segment(), SegmentId(1));
    let p = wal.append(b"second run", Durability::Os).unwrap();
    assert_eq!(p.segment, SegmentId(1));
    assert!(p.offset > first.offset);
    drop(wal);
    let read = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(read, vec![b"first run".to_vec(), b"second run".to_vec()]);
}

#[test]
fn reopening_starts_a_new_segment_after_a_long_last_one() {
    let (_sim, fs) = sim(3);
    let wal = open(&fs, options(4096)).unwrap();
    wal.append(&[7; 2100], Durability::Os).unwrap();
    wal.close().unwrap();
    let wal = open(&fs, options(4096)).unwrap();
    assert_eq!(wal.current_segment(), SegmentId(2));
    let p = wal.append(b"second run", Durability::Os).unwrap();
    assert_eq!(p.segment, SegmentId(2));
    drop(wal);
    let read = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(read, vec![vec![7; 2100], b"second run".to_vec()]);
}

#[test]
fn recovery_from_a_position_skips_what_comes_before_it() {
    let (_sim, fs) = sim(4);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"old", Durability::Os).unwrap();
    let from = wal.rotate().unwrap();
    let second = wal.append(b"new", Durability::Os).unwrap();
    wal.append(b"newer", Durability::Os).unwrap();
    wal.close().unwrap();
    let from_second = Position {
        segment: from,
        offset: second.offset + 1,
    };
    let mut recovery = Wal::recover(fs.clone(), DIR, options(1 << 20), from_second).unwrap();
    let records: Vec<_> = recovery.by_ref().map(|r| r.unwrap().payload).collect();
    assert_eq!(records, vec![b"newer".to_vec()]);
    let (wal, report) = recovery.finish().unwrap();
    assert_eq!(report.segments, vec![from]);
    // The last segment ended cleanly and is short: the writer continues it.
    assert_eq!(wal.current_segment(), from);
}

#[test]
fn recovery_never_reuses_a_segment_number_below_its_start() {
    let (_sim, fs) = sim(5);
    let recovery = Wal::recover(
        fs,
        DIR,
        options(1 << 20),
        Position::segment_start(SegmentId(9)),
    )
    .unwrap();
    let (wal, _) = recovery.finish().unwrap();
    assert_eq!(wal.current_segment(), SegmentId(9));
}

#[test]
fn a_record_over_the_maximum_is_refused_and_the_writer_goes_on() {
    let (_sim, fs) = sim(6);
    let wal = open(&fs, options(1 << 20)).unwrap();
    let big = vec![0u8; MAX_RECORD_LEN as usize + 1];
    let err = wal.append(&big, Durability::Synced).unwrap_err();
    assert!(matches!(err, Error::RecordTooLarge { len, .. } if len == big.len()));
    wal.append(b"small", Durability::Synced).unwrap();
    drop(wal);
    assert_eq!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap(),
        vec![b"small".to_vec()]
    );
}

#[test]
fn buffered_records_reach_the_os_by_flush() {
    let (_sim, fs) = sim(7);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"buffered", Durability::Buffered).unwrap();
    assert!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency)
            .unwrap()
            .is_empty()
    );
    wal.flush().unwrap();
    assert_eq!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap(),
        vec![b"buffered".to_vec()]
    );
}

#[test]
fn buffered_records_reach_the_os_by_the_flush_timer() {
    let (_sim, fs) = sim(8);
    let opts = WalOptions {
        flush_interval: Some(Duration::from_millis(2)),
        ..WalOptions::default()
    };
    let wal = open(&fs, opts).unwrap();
    wal.append(b"timed", Durability::Buffered).unwrap();
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
        if !seen.is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(seen, vec![b"timed".to_vec()]);
    wal.close().unwrap();
}

#[test]
fn a_full_buffer_is_handed_to_the_os_by_the_appender() {
    let (_sim, fs) = sim(9);
    let opts = WalOptions {
        buffer_limit: 1000,
        ..options(1 << 20)
    };
    let wal = open(&fs, opts).unwrap();
    for _ in 0..20 {
        wal.append(&[7u8; 100], Durability::Buffered).unwrap();
    }
    let visible = read_payloads(&fs, RecoveryMode::AbsoluteConsistency)
        .unwrap()
        .len();
    assert!(
        (8..20).contains(&visible),
        "{visible} of 20 records visible"
    );
}

#[test]
fn appends_after_close_are_refused() {
    let (_sim, fs) = sim(10);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"x", Durability::Buffered).unwrap();
    wal.close().unwrap();
    wal.close().unwrap();
    assert!(matches!(
        wal.append(b"y", Durability::Os),
        Err(Error::Closed)
    ));
    assert_eq!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap(),
        vec![b"x".to_vec()]
    );
}

#[test]
fn a_failed_sync_poisons_the_writer_and_every_later_call_names_it() {
    let (sim, fs) = sim(11);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"before", Durability::Synced).unwrap();
    sim.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::SyncData, Fault::Io));
    let first = wal.append(b"doomed", Durability::Synced).unwrap_err();
    assert!(
        matches!(
            first,
            Error::Sync {
                segment: SegmentId(1),
                ..
            }
        ),
        "{first}"
    );
    sim.clear_faults();
    for attempt in [
        wal.append(b"later", Durability::Buffered).map(drop),
        wal.append(b"later", Durability::Synced).map(drop),
        wal.flush(),
        wal.sync(),
        wal.rotate().map(drop),
        wal.close(),
    ] {
        match attempt {
            Err(Error::Poisoned { first_failure }) => assert_eq!(first_failure, first.to_string()),
            other => panic!("expected poisoned, got {other:?}"),
        }
    }
}

#[test]
fn many_threads_append_and_every_record_reads_back_in_thread_order() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(RealFs::new());
    let opts = WalOptions {
        wal_segment_size: 16 << 10,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(fs.clone(), dir.path(), opts).unwrap();
    let levels = [Durability::Buffered, Durability::Os, Durability::Synced];
    thread::scope(|s| {
        for t in 0..8usize {
            let wal = &wal;
            s.spawn(move || {
                let mut last = Position::START;
                for i in 0..200usize {
                    let p = wal
                        .append(format!("{t}:{i}").as_bytes(), levels[(t + i) % 3])
                        .unwrap();
                    assert!(p > last);
                    last = p;
                }
            });
        }
    });
    wal.close().unwrap();
    let reader = WalReader::new(
        fs,
        dir.path(),
        Position::START,
        RecoveryMode::AbsoluteConsistency,
    )
    .unwrap();
    let mut next = [0usize; 8];
    let mut count = 0;
    for record in reader {
        let text = String::from_utf8(record.unwrap().payload).unwrap();
        let (t, i) = text.split_once(':').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[t], "thread {t} out of order");
        next[t] += 1;
        count += 1;
    }
    assert_eq!(count, 1600);
}

#[test]
fn a_missing_segment_between_others_is_named() {
    let (_sim, fs) = sim(12);
    let wal = open(&fs, options(1 << 20)).unwrap();
    for _ in 0..3 {
        wal.append(b"r", Durability::Os).unwrap();
        wal.rotate().unwrap();
    }
    wal.close().unwrap();
    fs.remove(&SegmentId(2).path_in(DIR.as_ref())).unwrap();
    let err = Wal::open(fs.clone(), DIR, options(1 << 20)).unwrap_err();
    assert!(matches!(
        err,
        Error::MissingSegment {
            segment: SegmentId(2)
        }
    ));
    assert!(err.is_corruption());
}

#[test]
fn a_failed_background_flush_poisons_the_writer_and_the_next_call_reports_it() {
    let (sim, fs) = sim(13);
    let opts = WalOptions {
        flush_interval: Some(Duration::from_millis(1)),
        ..WalOptions::default()
    };
    let wal = open(&fs, opts).unwrap();
    sim.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Append, Fault::NoSpace));
    wal.append(b"lost in the background", Durability::Buffered)
        .unwrap();
    let mut outcome = Ok(Position::START);
    for _ in 0..1000 {
        thread::sleep(Duration::from_millis(1));
        outcome = wal.append(b"probe", Durability::Buffered);
        if outcome.is_err() {
            break;
        }
    }
    match outcome {
        Err(Error::Poisoned { first_failure }) => {
            assert!(
                first_failure.contains("writing WAL segment 000001"),
                "{first_failure}"
            );
        }
        other => panic!("expected poisoned, got {other:?}"),
    }
    sim.clear_faults();
    assert!(wal.close().unwrap_err().is_poisoned());
}
