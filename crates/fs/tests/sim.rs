//! The simulated file system's contract: what survives a crash, what faults do.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::Path;

use quickcache_fs::{CrashMode, Error, Fault, FaultPlan, FileSystem, Op, SimFs, write_atomic};
use quickcheck::quickcheck;

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn disk_with_dir() -> SimFs {
    let fs = SimFs::new(42);
    fs.create_dir_all(p("/db")).unwrap();
    fs
}

#[test]
fn synced_bytes_survive_and_unsynced_bytes_do_not() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/a")).unwrap();
    f.append(b"durable").unwrap();
    f.sync_data().unwrap();
    f.append(b"-volatile").unwrap();
    fs.sync_dir(p("/db")).unwrap();
    let after = fs.crash_with(CrashMode::DropUnsynced);
    assert_eq!(after.read_file(p("/db/a")).unwrap(), b"durable");
    // The dead process's view is untouched.
    assert_eq!(fs.read_file(p("/db/a")).unwrap(), b"durable-volatile");
}

#[test]
fn a_killed_process_leaves_unsynced_data_that_a_later_power_loss_drops() {
    let fs = disk_with_dir();
    fs.lock(p("/db/LOCK")).map(std::mem::forget).unwrap();
    let mut f = fs.create(p("/db/a")).unwrap();
    f.append(b"durable").unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(p("/db")).unwrap();
    f.append(b"-volatile").unwrap();
    let killed = fs.after_kill();
    assert_eq!(killed.read_file(p("/db/a")).unwrap(), b"durable-volatile");
    // Its locks died with it, and it shares nothing with the disk it was taken from.
    killed.lock(p("/db/LOCK")).unwrap();
    f.append(b"-after").unwrap();
    assert_eq!(killed.read_file(p("/db/a")).unwrap(), b"durable-volatile");
    // What was never synced is still at the mercy of a power loss.
    let after = killed.crash_with(CrashMode::DropUnsynced);
    assert_eq!(after.read_file(p("/db/a")).unwrap(), b"durable");
}

#[test]
fn a_file_whose_directory_was_not_synced_is_lost() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/a")).unwrap();
    f.append(b"synced data, unsynced name").unwrap();
    f.sync_all().unwrap();
    let after = fs.crash_with(CrashMode::Torn);
    assert!(!after.exists(p("/db/a")).unwrap());
    assert!(after.exists(p("/db")).unwrap());
}

#[test]
fn unsynced_removal_and_rename_are_undone() {
    let fs = disk_with_dir();
    for name in ["/db/keep", "/db/old"] {
        let mut f = fs.create(p(name)).unwrap();
        f.append(name.as_bytes()).unwrap();
        f.sync_data().unwrap();
    }
    fs.sync_dir(p("/db")).unwrap();
    fs.remove(p("/db/keep")).unwrap();
    fs.rename(p("/db/old"), p("/db/new")).unwrap();
    let after = fs.crash();
    let mut names = after.list(p("/db")).unwrap();
    names.sort();
    assert_eq!(names, vec!["keep", "old"]);
    assert_eq!(after.read_file(p("/db/old")).unwrap(), b"/db/old");
}

#[test]
fn torn_tails_are_prefixes_and_garbage_tails_keep_the_synced_part() {
    let payload: Vec<u8> = (0..200u8).collect();
    for seed in 0..40 {
        let fs = SimFs::new(seed);
        fs.create_dir_all(p("/db")).unwrap();
        let mut f = fs.create(p("/db/log")).unwrap();
        f.append(&payload[..50]).unwrap();
        f.sync_data().unwrap();
        f.append(&payload[50..]).unwrap();
        fs.sync_dir(p("/db")).unwrap();
        let torn = fs
            .crash_with(CrashMode::Torn)
            .read_file(p("/db/log"))
            .unwrap();
        assert!(
            torn.len() >= 50 && payload.starts_with(&torn),
            "seed {seed}"
        );
        let garbage = fs
            .crash_with(CrashMode::TornWithGarbage)
            .read_file(p("/db/log"))
            .unwrap();
        assert_eq!(garbage.len(), payload.len(), "seed {seed}");
        assert_eq!(&garbage[..50], &payload[..50], "seed {seed}");
    }
}

#[test]
fn crashes_are_deterministic_from_the_seed() {
    let run = |seed| {
        let fs = SimFs::new(seed);
        fs.create_dir_all(p("/db")).unwrap();
        let mut f = fs.create(p("/db/log")).unwrap();
        f.append(&[7; 1000]).unwrap();
        fs.sync_dir(p("/db")).unwrap();
        fs.crash().read_file(p("/db/log")).unwrap()
    };
    assert_eq!(run(9), run(9));
    assert!((0..20).map(run).any(|bytes| bytes != run(9)));
}

#[test]
fn write_atomic_leaves_old_or_new_at_every_crash_point() {
    let setup = |fs: &SimFs| {
        fs.create_dir_all(p("/db")).unwrap();
        write_atomic(fs, p("/db"), "CURRENT", b"old contents").unwrap();
    };
    let counter = SimFs::new(1);
    setup(&counter);
    let before = counter.op_count();
    write_atomic(&counter, p("/db"), "CURRENT", b"new").unwrap();
    let ops = counter.op_count() - before;
    assert!(ops >= 6, "create, append, sync, close, rename, sync dir");
    for n in 0..=ops {
        for seed in 0..8 {
            let fs = SimFs::new(seed);
            setup(&fs);
            fs.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
            let result = write_atomic(&fs, p("/db"), "CURRENT", b"new");
            assert_eq!(result.is_ok(), n >= ops, "op {n}");
            let after = fs.crash().read_file(p("/db/CURRENT")).unwrap();
            assert!(
                after == b"old contents" || after == b"new",
                "op {n} seed {seed}: {after:?}"
            );
            if n >= ops {
                assert_eq!(after, b"new", "a completed write_atomic is durable");
            }
        }
    }
}

#[test]
fn fault_plans_fail_the_chosen_operations() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/a")).unwrap();
    fs.set_faults(FaultPlan::new().fail_nth(1, Fault::NoSpace));
    f.append(b"ok").unwrap();
    let err = f.append(b"full").unwrap_err();
    assert!(err.is_no_space());
    assert_eq!(err.op(), Some(Op::Append));
    f.append(b"!").unwrap();
    assert_eq!(fs.read_file(p("/db/a")).unwrap(), b"ok!");

    fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Append, Fault::ShortWrite));
    assert!(f.append(b"abcd").is_err());
    fs.clear_faults();
    assert_eq!(fs.read_file(p("/db/a")).unwrap(), b"ok!ab");

    fs.set_faults(FaultPlan::new().fail_from(0, Fault::Io));
    assert!(fs.sync_dir(p("/db")).is_err());
    assert!(fs.read_file(p("/db/a")).is_err());
    assert!(f.sync_data().is_err());
}

#[test]
fn locks_exclude_a_second_holder_until_dropped() {
    let fs = disk_with_dir();
    let held = fs.lock(p("/db/LOCK")).unwrap();
    assert!(matches!(
        fs.clone().lock(p("/db/LOCK")),
        Err(Error::Locked { .. })
    ));
    drop(held);
    let _again = fs.lock(p("/db/LOCK")).unwrap();
    assert!(
        fs.crash().lock(p("/db/LOCK")).is_ok(),
        "a crash releases locks"
    );
}

#[test]
fn missing_parents_and_files_are_not_found() {
    let fs = SimFs::new(0);
    assert!(fs.create(p("/nodir/a")).unwrap_err().is_not_found());
    assert!(fs.open(p("/a")).unwrap_err().is_not_found());
    assert!(fs.remove(p("/a")).unwrap_err().is_not_found());
    assert!(fs.list(p("/nodir")).unwrap_err().is_not_found());
}

#[test]
fn maps_and_reads_see_the_bytes() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/t")).unwrap();
    f.append(b"0123456789").unwrap();
    let reader = fs.open(p("/db/t")).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(reader.read_at(8, &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"89");
    assert_eq!(reader.read_at(20, &mut buf).unwrap(), 0);
    assert_eq!(&*fs.map(p("/db/t")).unwrap(), b"0123456789");
    fs.truncate(p("/db/t"), 3).unwrap();
    assert_eq!(fs.size(p("/db/t")).unwrap(), 3);
}

quickcheck! {
    /// Whatever was appended and synced, in whatever pieces, survives every crash mode.
    fn synced_prefix_always_survives(pieces: Vec<(Vec<u8>, bool)>, seed: u64) -> bool {
        let fs = SimFs::new(seed);
        fs.create_dir_all(p("/d")).unwrap();
        let mut f = fs.create(p("/d/f")).unwrap();
        fs.sync_dir(p("/d")).unwrap();
        let (mut written, mut synced) = (Vec::new(), 0);
        for (piece, sync) in &pieces {
            f.append(piece).unwrap();
            written.extend_from_slice(piece);
            if *sync {
                f.sync_data().unwrap();
                synced = written.len();
            }
        }
        let after = fs.crash().read_file(p("/d/f")).unwrap();
        after.len() >= synced && after.len() <= written.len() && after[..synced] == written[..synced]
    }
}

#[test]
fn a_preallocated_size_is_durable_only_after_a_sync() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/log")).unwrap();
    f.append(b"head").unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(p("/db")).unwrap();
    f.preallocate(4096).unwrap();
    assert_eq!((f.len(), fs.size(p("/db/log")).unwrap()), (4, 4096));
    let lost = fs.crash_with(CrashMode::Torn);
    assert_eq!(lost.read_file(p("/db/log")).unwrap(), b"head");
    f.sync_all().unwrap();
    let kept = fs.crash_with(CrashMode::DropUnsynced);
    let bytes = kept.read_file(p("/db/log")).unwrap();
    assert_eq!(bytes.len(), 4096);
    assert!(bytes.starts_with(b"head") && bytes[4..].iter().all(|&b| b == 0));
}

#[test]
fn appends_fill_the_preallocated_zeros_and_tear_like_any_unsynced_bytes() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/log")).unwrap();
    f.append(b"head").unwrap();
    f.preallocate(64).unwrap();
    f.sync_all().unwrap();
    fs.sync_dir(p("/db")).unwrap();
    f.append(b"-synced").unwrap();
    f.sync_data().unwrap();
    f.append(b"-unsynced").unwrap();
    assert_eq!(f.len(), 20);
    let live = fs.read_file(p("/db/log")).unwrap();
    assert_eq!(
        (live.len(), &live[..20]),
        (64, &b"head-synced-unsynced"[..])
    );
    for mode in [
        CrashMode::DropUnsynced,
        CrashMode::Torn,
        CrashMode::TornWithGarbage,
    ] {
        for _ in 0..20 {
            let bytes = fs.crash_with(mode).read_file(p("/db/log")).unwrap();
            assert_eq!(bytes.len(), 64, "{mode:?}: the synced size stays");
            assert!(bytes.starts_with(b"head-synced"), "{mode:?}");
            assert!(
                bytes[20..].iter().all(|&b| b == 0),
                "{mode:?}: never written"
            );
            if mode != CrashMode::TornWithGarbage {
                let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                assert!(
                    b"head-synced-unsynced".starts_with(&bytes[..end]),
                    "{mode:?}"
                );
            }
        }
    }
    // Reading at any offset sees the written bytes, then zeros, then the end.
    let file = fs.open(p("/db/log")).unwrap();
    let mut buf = [0xFF; 16];
    assert_eq!(file.read_at(16, &mut buf).unwrap(), 16);
    assert_eq!(&buf[..4], b"nced");
    assert!(buf[4..].iter().all(|&b| b == 0));
    assert_eq!(file.read_at(60, &mut buf).unwrap(), 4);
    fs.truncate(p("/db/log"), 20).unwrap();
    assert_eq!(fs.size(p("/db/log")).unwrap(), 20);
    let cut = fs
        .crash_with(CrashMode::Torn)
        .read_file(p("/db/log"))
        .unwrap();
    assert!(cut.len() <= 20 && cut.starts_with(b"head-synced"));
    let mut again = fs.open_append(p("/db/log")).unwrap();
    assert_eq!(again.len(), 20);
    again.append(b"!").unwrap();
    assert_eq!(
        fs.read_file(p("/db/log")).unwrap(),
        b"head-synced-unsynced!"
    );
}

#[test]
fn a_failed_preallocation_changes_nothing() {
    let fs = disk_with_dir();
    let mut f = fs.create(p("/db/log")).unwrap();
    fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Preallocate, Fault::NoSpace));
    let err = f.preallocate(1 << 20).unwrap_err();
    assert!(err.is_no_space() && err.op() == Some(Op::Preallocate));
    assert_eq!(fs.size(p("/db/log")).unwrap(), 0);
}
