//! Directories that hold no quickcache database are refused before the open changes
//! anything (no `LOCK`, no `wal/`): another engine's `CURRENT` and manifest, and a
//! `CURRENT` naming a manifest that is gone (corruption, see `docs/format/manifest.md`).

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::path::Path;

use quickcache::Db;

/// Every entry of `dir` with its bytes (directories as `None`).
fn contents(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = e.path().is_file().then(|| std::fs::read(e.path()).unwrap());
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// The start of a LevelDB manifest: a log record header (checksum, length, type),
/// then a version edit naming its comparator.
fn leveldb_manifest() -> Vec<u8> {
    let mut bytes = vec![0x5a, 0x1c, 0x93, 0x7e, 0x1c, 0x00, 0x01, 0x01, 0x1a];
    bytes.extend_from_slice(b"leveldb.BytewiseComparator");
    bytes.extend_from_slice(&[0x02, 0x00, 0x03, 0x02, 0x04, 0x00]);
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn a_leveldb_directory_is_not_a_database_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "CURRENT", b"MANIFEST-000001\n");
    write(dir.path(), "MANIFEST-000001", &leveldb_manifest());
    write(dir.path(), "000003.log", b"");
    write(dir.path(), "LOG", b"leveldb log\n");
    let before = contents(dir.path());
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_not_a_database(), "{err}");
    assert!(err.to_string().contains("MANIFEST-000001"), "{err}");
    assert_eq!(contents(dir.path()), before);
}

#[test]
fn a_rocksdb_like_directory_with_a_short_manifest_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "CURRENT", b"MANIFEST-000005\n");
    write(dir.path(), "MANIFEST-000005", b"\x01\x02rocks");
    write(dir.path(), "IDENTITY", b"0b7c-42\n");
    let before = contents(dir.path());
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_not_a_database(), "{err}");
    assert_eq!(contents(dir.path()), before);
}

#[test]
fn a_current_naming_a_missing_manifest_is_corruption_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "CURRENT", b"MANIFEST-000001\n");
    let before = contents(dir.path());
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(!err.is_not_a_database(), "{err}");
    assert!(err.to_string().contains("MANIFEST-000001"), "{err}");
    assert_eq!(contents(dir.path()), before);
}

#[test]
fn damage_to_our_own_manifest_header_is_corruption_not_a_foreign_directory() {
    let dir = tempfile::tempdir().unwrap();
    Db::open(dir.path()).unwrap().close().unwrap();
    let current = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let manifest = dir.path().join(current.trim_end());
    let intact = std::fs::read(&manifest).unwrap();
    for damaged in [
        // A flipped magic byte.
        intact
            .iter()
            .enumerate()
            .map(|(i, &b)| if i == 2 { b ^ 0x10 } else { b })
            .collect(),
        // A zeroed page.
        vec![0u8; intact.len()],
    ] {
        std::fs::write(&manifest, &damaged).unwrap();
        let err = Db::open(dir.path()).unwrap_err();
        assert!(!err.is_not_a_database(), "{err}");
        assert!(err.is_corruption(), "{err}");
    }
}
