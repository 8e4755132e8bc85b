//! The matrix's checkpoint cells. A checkpoint on the source's file system is an
//! ordinary database whose tables are hard links to the source's: one file under two
//! names, so damage to a table block is damage to both (`docs/operations.md`,
//! "Backups"). Opening and reading the checkpoint, and `verify`, report corruption
//! naming the file and the offset, never a wrong value; repair of the checkpoint
//! salvages what lies outside the damaged block, as for any database, and leaves the
//! source's name for the file alone. Real files (the hard links are the point), in a
//! temporary directory; the damage is written in place, as a bad disk does it.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use quickcache::{Db, Options};

/// How many keys one damaged 1 KiB block may hold (values of about 100 bytes).
const MAX_LOST_KEYS: usize = 20;

fn options() -> Options {
    Options {
        block_size: 1024,
        table_size: 24 << 10,
        flush_interval: None,
        ..Options::default()
    }
}

fn key(i: u32) -> String {
    format!("key{i:05}")
}

/// A source database of 600 keys in tables, its checkpoint, and the contents.
struct Setup {
    _dir: tempfile::TempDir,
    source: PathBuf,
    checkpoint: PathBuf,
    model: BTreeMap<String, String>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (source, checkpoint) = (dir.path().join("db"), dir.path().join("ckpt"));
    let db = Db::open_with(&source, options()).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..600 {
        let v = format!("value-{i}-{}", "x".repeat(90));
        db.put(key(i), &v).unwrap();
        model.insert(key(i), v);
    }
    db.compact_range(..).unwrap();
    let report = db.checkpoint(&checkpoint).unwrap();
    assert!(
        report.tables_linked > 0 && report.tables_copied == 0,
        "{report:?}"
    );
    db.close().unwrap();
    Setup {
        _dir: dir,
        source,
        checkpoint,
        model,
    }
}

/// The largest table of the checkpoint: its name.
fn largest_table(dir: &Path) -> String {
    let tables = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap());
    let tables = tables.filter(|e| e.file_name().to_string_lossy().ends_with(".sst"));
    let largest = tables.max_by_key(|e| e.metadata().unwrap().len()).unwrap();
    largest.file_name().to_string_lossy().into_owned()
}

/// Flips a bit inside the first data block of `path`, in place (the inode the
/// hard links share), and syncs it.
fn damage_in_place(path: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(100)).unwrap();
    file.read_exact(&mut byte).unwrap();
    byte[0] ^= 0x10;
    file.seek(SeekFrom::Start(100)).unwrap();
    file.write_all(&byte).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_damaged_block_of_a_checkpoint_reads_as_corruption_naming_file_and_offset() {
    let _dog = crate::support::watchdog("a_damaged_block_of_a_checkpoint_reads_as_corruption");
    let s = setup();
    let table = largest_table(&s.checkpoint);
    damage_in_place(&s.checkpoint.join(&table));
    let db = Db::open_with(&s.checkpoint, options()).unwrap();
    let mut errors = 0;
    for (k, v) in &s.model {
        match db.get(k) {
            Ok(got) => assert_eq!(got.as_deref(), Some(v.as_bytes()), "{k}: a wrong value"),
            Err(e) => {
                let msg = e.to_string();
                assert!(e.is_corruption(), "{k}: {msg}");
                assert!(msg.contains(&table) && msg.contains("offset"), "{k}: {msg}");
                errors += 1;
            }
        }
    }
    assert!(
        (1..=MAX_LOST_KEYS).contains(&errors),
        "{errors} reads failed"
    );
    // A scan yields the contents up to the damage, then the error.
    let mut scanned = Vec::new();
    for kv in db.iter() {
        match kv {
            Ok((k, _)) => scanned.push(String::from_utf8(k.to_vec()).unwrap()),
            Err(e) => {
                assert!(e.is_corruption() && e.to_string().contains(&table), "{e}");
                break;
            }
        }
    }
    let want: Vec<_> = s.model.keys().take(scanned.len()).cloned().collect();
    assert_eq!(scanned, want);
    db.close().unwrap();
    // `verify` names the file and the offset, in the checkpoint and, through the
    // shared inode, in the source.
    for dir in [&s.checkpoint, &s.source] {
        let report = quickcache::verify(dir).unwrap();
        let problem = (report.damaged.iter())
            .find(|p| p.path.ends_with(&table))
            .unwrap_or_else(|| panic!("{}: {:?}", dir.display(), report.damaged));
        assert!(problem.offset.is_some(), "{problem:?}");
    }
}

#[test]
fn repair_of_a_checkpoint_salvages_what_is_outside_the_damaged_block() {
    let _dog = crate::support::watchdog("repair_of_a_checkpoint_salvages");
    let s = setup();
    let table = largest_table(&s.checkpoint);
    damage_in_place(&s.checkpoint.join(&table));
    let report = quickcache::repair(&s.checkpoint).unwrap();
    assert_eq!(report.tables_salvaged, 1, "{report}");
    let db = Db::open_with(&s.checkpoint, options()).unwrap();
    let mut lost = 0;
    for (k, v) in &s.model {
        match db.get(k).unwrap() {
            Some(got) => assert_eq!(got.as_ref(), v.as_bytes(), "{k}: a wrong value"),
            None => {
                let reported = report.lost.iter().any(|l| l.may_hold(k.as_bytes()));
                assert!(reported, "{k} lost but not in the report:\n{report}");
                lost += 1;
            }
        }
    }
    assert!((1..=MAX_LOST_KEYS).contains(&lost), "{lost} keys lost");
    assert!(quickcache::verify(&s.checkpoint).unwrap().is_ok());
    db.close().unwrap();
    // The source keeps its name for the damaged file: repairing the checkpoint moved
    // only the checkpoint's link into its `lost/`.
    assert!(s.source.join(&table).is_file());
}
