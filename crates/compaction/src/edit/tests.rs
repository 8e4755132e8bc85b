//! Edit encoding round trips, decoder robustness, and building versions from edits.

use std::sync::Arc;

use quickcache_fs::{DynFs, SimFs};
use quickcache_sstable::{InternalKey, SeqNo, ValueKind};
use quickcheck::{Arbitrary, Gen, quickcheck};

use super::codec::{decode, encode};
use super::*;

fn key(user: &[u8], seq: u64) -> InternalKey {
    InternalKey::new(user.to_vec(), SeqNo::new(seq).unwrap(), ValueKind::Value)
}

pub(crate) fn info(id: u64, lo: &[u8], hi: &[u8], seq: u64) -> TableInfo {
    TableInfo {
        id: TableId(id),
        size: 1000 + id,
        smallest: key(lo, seq),
        largest: key(hi, seq),
        min_seqno: SeqNo::new(seq).unwrap(),
        max_seqno: SeqNo::new(seq).unwrap(),
        entries: 10,
        tombstones: 1,
    }
}

#[derive(Debug, Clone)]
struct AnyEdit(VersionEdit);

fn any_key(g: &mut Gen) -> InternalKey {
    let seq = u64::arbitrary(g) & SeqNo::MAX.get();
    let kind = if bool::arbitrary(g) {
        ValueKind::Value
    } else {
        ValueKind::Tombstone
    };
    InternalKey::new(Vec::<u8>::arbitrary(g), SeqNo::new(seq).unwrap(), kind)
}

fn any_level(g: &mut Gen) -> Level {
    Level::new(usize::arbitrary(g) % crate::LEVELS).unwrap()
}

impl Arbitrary for AnyEdit {
    fn arbitrary(g: &mut Gen) -> Self {
        let seq = |g: &mut Gen| SeqNo::new(u64::arbitrary(g) & SeqNo::MAX.get()).unwrap();
        let mut edit = VersionEdit {
            log_number: Option::arbitrary(g),
            next_file: Option::arbitrary(g),
            last_seqno: bool::arbitrary(g).then(|| seq(g)),
            ..VersionEdit::default()
        };
        for _ in 0..u8::arbitrary(g) % 4 {
            edit.pointers.push((any_level(g), any_key(g)));
            edit.removed
                .push((any_level(g), TableId(u64::arbitrary(g))));
            let info = TableInfo {
                id: TableId(u64::arbitrary(g)),
                size: u64::arbitrary(g),
                smallest: any_key(g),
                largest: any_key(g),
                min_seqno: seq(g),
                max_seqno: seq(g),
                entries: u64::arbitrary(g),
                tombstones: u64::arbitrary(g),
            };
            edit.added.push((any_level(g), info));
        }
        AnyEdit(edit)
    }
}

quickcheck! {
    fn encoding_round_trips(edit: AnyEdit) -> bool {
        let mut buf = Vec::new();
        encode(&edit.0, &mut buf);
        decode(&buf) == Ok(edit.0)
    }

    fn decoding_random_bytes_never_panics(bytes: Vec<u8>) -> bool {
        let _ = decode(&bytes);
        true
    }

    fn decoding_damaged_edits_never_panics(edit: AnyEdit, at: usize, byte: u8, cut: usize) -> bool {
        let mut buf = Vec::new();
        encode(&edit.0, &mut buf);
        let i = at % buf.len();
        buf[i] ^= byte | 1;
        let _ = decode(&buf);
        buf.truncate(cut % buf.len());
        let _ = decode(&buf);
        true
    }
}

#[test]
fn decode_names_the_bad_field() {
    let mut edit = VersionEdit::new();
    edit.added.push((Level::L0, info(7, b"a", b"b", 1)));
    let mut buf = Vec::new();
    encode(&edit, &mut buf);
    buf.truncate(buf.len() - 3);
    let err = decode(&buf).unwrap_err();
    assert_eq!(err.field, "field body");
    assert_eq!(decode(&[2]).unwrap_err().field, "format version");
    assert_eq!(decode(&[1, 0, 0, 0, 0, 0]).unwrap_err().problem, "unknown");
    assert_eq!(
        decode(&[1, 5, 1, 0, 0, 0, 9]).unwrap_err().field,
        "removed table level"
    );
}

fn opener() -> impl FnMut(&TableInfo) -> Arc<TableHandle> {
    let fs: DynFs = Arc::new(SimFs::new(1));
    move |info| {
        Arc::new(TableHandle::new(
            Arc::clone(&fs),
            std::path::Path::new("/db"),
            info.clone(),
        ))
    }
}

fn l(n: usize) -> Level {
    Level::new(n).unwrap()
}

#[test]
fn apply_orders_levels_and_moves_tables() {
    let mut open = opener();
    let mut edit = VersionEdit::new();
    edit.added = vec![
        (Level::L0, info(1, b"a", b"z", 5)),
        (Level::L0, info(2, b"c", b"d", 9)),
        (l(1), info(3, b"m", b"n", 1)),
        (l(1), info(4, b"a", b"b", 1)),
    ];
    let v = edit.apply(&Version::new(), &mut open).unwrap().version;
    let ids = |lv: Level, v: &Version| v.infos(lv).map(|t| t.id.0).collect::<Vec<_>>();
    assert_eq!(ids(Level::L0, &v), [2, 1], "L0 newest first");
    assert_eq!(ids(l(1), &v), [4, 3], "L1 by key");

    let moved = VersionEdit {
        removed: vec![(l(1), TableId(3))],
        added: vec![(l(2), info(3, b"m", b"n", 1))],
        ..VersionEdit::new()
    };
    let applied = moved.apply(&v, &mut open).unwrap();
    assert!(applied.dropped.is_empty(), "a moved table is not dropped");
    assert!(Arc::ptr_eq(
        &applied.version.level(l(2))[0],
        &v.level(l(1))[1]
    ));

    let remove = VersionEdit {
        removed: vec![(Level::L0, TableId(1))],
        ..VersionEdit::new()
    };
    let applied = remove.apply(&v, &mut open).unwrap();
    assert_eq!(applied.dropped.len(), 1);
    assert_eq!(ids(Level::L0, &applied.version), [2]);
}

#[test]
fn apply_refuses_inconsistent_edits() {
    let mut open = opener();
    let missing = VersionEdit {
        removed: vec![(l(1), TableId(9))],
        ..VersionEdit::new()
    };
    assert!(missing.apply(&Version::new(), &mut open).is_err());
    let overlap = VersionEdit {
        added: vec![
            (l(1), info(1, b"a", b"f", 1)),
            (l(1), info(2, b"f", b"g", 1)),
        ],
        ..VersionEdit::new()
    };
    let err = overlap.apply(&Version::new(), &mut open).unwrap_err();
    assert!(err.reason.contains("overlap"), "{err}");
    let twice = VersionEdit {
        added: vec![
            (l(1), info(1, b"a", b"b", 1)),
            (l(2), info(1, b"c", b"d", 1)),
        ],
        ..VersionEdit::new()
    };
    assert!(twice.apply(&Version::new(), &mut open).is_err());
}

#[test]
fn lookups_find_the_right_tables() {
    let mut open = opener();
    let edit = VersionEdit {
        added: vec![
            (Level::L0, info(1, b"a", b"k", 5)),
            (Level::L0, info(2, b"j", b"z", 9)),
            (l(1), info(3, b"a", b"c", 1)),
            (l(1), info(4, b"e", b"g", 1)),
            (l(1), info(5, b"h", b"k", 1)),
            (l(3), info(6, b"a", b"z", 1)),
        ],
        ..VersionEdit::new()
    };
    let v = edit.apply(&Version::new(), &mut open).unwrap().version;
    let ids = |it: Vec<&Arc<TableHandle>>| it.iter().map(|t| t.info().id.0).collect::<Vec<_>>();
    assert_eq!(ids(v.tables_for_key(b"j").collect()), [2, 1, 5, 6]);
    assert_eq!(ids(v.tables_for_key(b"d").collect()), [1, 6]);
    assert_eq!(ids(v.tables_for_key(b"zz").collect()), Vec::<u64>::new());
    let over = v.overlapping(l(1), b"b", b"f");
    assert_eq!(ids(over.iter().collect()), [3, 4]);
    assert!(v.overlapping(l(1), b"d", b"d").is_empty());
    assert_eq!(v.overlapping(Level::L0, b"l", b"m").len(), 1);
    assert_eq!(v.level_size(l(1)), 1003 + 1004 + 1005);
    assert_eq!(v.deepest_nonempty(), Some(l(3)));
}
