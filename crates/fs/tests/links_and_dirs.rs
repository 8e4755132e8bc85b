//! Hard links, directory renames and directory removal, on both file systems: what
//! each does, and what a power loss leaves of them on the simulated one.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::Path;

use quickcache_fs::{CrashMode, FileSystem, Op, RealFs, SimFs};

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn synced_file(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) {
    let mut f = fs.create(path).unwrap();
    f.append(bytes).unwrap();
    f.sync_all().unwrap();
    f.close().unwrap();
}

#[test]
fn a_link_names_the_same_bytes_and_outlives_the_original() {
    let fs = SimFs::new(1);
    fs.create_dir_all(p("/a")).unwrap();
    fs.create_dir_all(p("/b")).unwrap();
    synced_file(&fs, p("/a/t"), b"table");
    fs.sync_dir(p("/a")).unwrap();
    fs.link(p("/a/t"), p("/b/t")).unwrap();
    let again = fs.link(p("/a/t"), p("/b/t")).unwrap_err();
    assert_eq!(again.op(), Some(Op::Link), "{again}");
    assert!(
        fs.link(p("/a/missing"), p("/b/m"))
            .unwrap_err()
            .is_not_found()
    );
    fs.remove(p("/a/t")).unwrap();
    assert_eq!(fs.read_file(p("/b/t")).unwrap(), b"table");
    // The new name is durable only after its directory is synced.
    assert!(!fs.crash_with(CrashMode::Torn).exists(p("/b/t")).unwrap());
    fs.sync_dir(p("/b")).unwrap();
    let after = fs.crash_with(CrashMode::Torn);
    assert_eq!(after.read_file(p("/b/t")).unwrap(), b"table");
}

#[test]
fn a_directory_rename_moves_its_files_and_is_undone_by_a_crash_until_the_parent_is_synced() {
    let fs = SimFs::new(2);
    fs.create_dir_all(p("/top/tmp/wal")).unwrap();
    synced_file(&fs, p("/top/tmp/f"), b"f");
    synced_file(&fs, p("/top/tmp/wal/s"), b"s");
    fs.sync_dir(p("/top/tmp")).unwrap();
    fs.sync_dir(p("/top/tmp/wal")).unwrap();
    fs.rename(p("/top/tmp"), p("/top/dest")).unwrap();
    assert_eq!(fs.read_file(p("/top/dest/wal/s")).unwrap(), b"s");
    assert!(!fs.exists(p("/top/tmp")).unwrap());
    assert!(fs.list(p("/top/tmp")).unwrap_err().is_not_found());

    let before_sync = fs.crash_with(CrashMode::DropUnsynced);
    assert!(!before_sync.exists(p("/top/dest")).unwrap());
    assert_eq!(before_sync.read_file(p("/top/tmp/wal/s")).unwrap(), b"s");

    fs.sync_dir(p("/top")).unwrap();
    let after_sync = fs.crash_with(CrashMode::DropUnsynced);
    assert!(!after_sync.exists(p("/top/tmp")).unwrap());
    assert_eq!(after_sync.read_file(p("/top/dest/f")).unwrap(), b"f");
    assert_eq!(after_sync.read_file(p("/top/dest/wal/s")).unwrap(), b"s");
}

#[test]
fn a_directory_is_not_renamed_over_a_full_one_and_only_an_empty_one_is_removed() {
    let fs = SimFs::new(3);
    fs.create_dir_all(p("/x/a")).unwrap();
    fs.create_dir_all(p("/x/b")).unwrap();
    synced_file(&fs, p("/x/b/f"), b"f");
    assert!(fs.rename(p("/x/a"), p("/x/b")).is_err());
    assert!(fs.remove_dir(p("/x/b")).is_err());
    fs.remove(p("/x/b/f")).unwrap();
    fs.remove_dir(p("/x/b")).unwrap();
    assert!(!fs.exists(p("/x/b")).unwrap());
    assert!(fs.remove_dir(p("/x/b")).unwrap_err().is_not_found());
}

#[test]
fn the_real_file_system_links_renames_directories_and_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let fs = RealFs;
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs.create_dir_all(&a).unwrap();
    synced_file(&fs, &a.join("t"), b"table");
    fs.link(&a.join("t"), &dir.path().join("t2")).unwrap();
    assert_eq!(fs.read_file(&dir.path().join("t2")).unwrap(), b"table");
    fs.rename(&a, &b).unwrap();
    assert_eq!(fs.read_file(&b.join("t")).unwrap(), b"table");
    fs.remove(&b.join("t")).unwrap();
    fs.remove_dir(&b).unwrap();
    assert!(!fs.exists(&b).unwrap());
}
