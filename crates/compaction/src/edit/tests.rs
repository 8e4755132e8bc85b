//! Edit encoding round trips, decoder robustness, and building versions from edits.

use std::sync::Arc;

use quickcache_fs::{DynFs, SimFs};
use quickcache_sstable::{Compression, InternalKey, KeyspaceId, SeqNo, ValueKind};
use quickcheck::{Arbitrary, Gen, quickcheck};

use super::codec::{EDIT_FORMAT, decode, encode};
use super::*;
use crate::TreeOptions;

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
        global_seqno: None,
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
                global_seqno: bool::arbitrary(g).then(|| seq(g)),
            };
            edit.added.push((any_level(g), info));
        }
        any_keyspace_part(g, &mut edit);
        AnyEdit(edit)
    }
}

/// The keyspace fields, as a valid edit may hold them: a create or a drop only of a
/// keyspace other than the default, never both, and no tables added by a drop.
fn any_keyspace_part(g: &mut Gen, edit: &mut VersionEdit) {
    edit.keyspace = KeyspaceId(u32::arbitrary(g) % 4);
    edit.last_keyspace = Option::<u32>::arbitrary(g).map(KeyspaceId);
    if edit.keyspace.is_default() {
        return;
    }
    match u8::arbitrary(g) % 3 {
        0 => {
            let name: String = String::arbitrary(g).chars().take(60).collect();
            let name = if name.is_empty() {
                "k".to_owned()
            } else {
                name
            };
            let options = TreeOptions {
                memtable_size: u64::arbitrary(g),
                table_size: u64::arbitrary(g),
                block_size: u32::arbitrary(g),
                bloom_bits_per_key: u32::arbitrary(g),
                base_level_size: u64::arbitrary(g),
                level_multiplier: u64::arbitrary(g),
                compression: std::array::from_fn(|_| {
                    let kinds = [Compression::None, Compression::Lz4, Compression::Zstd];
                    kinds[usize::arbitrary(g) % 3]
                }),
            };
            edit.create = Some(KeyspaceDef { name, options });
        }
        1 => {
            edit.drop = true;
            edit.added.clear();
        }
        _ => {}
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
    assert_eq!(
        decode(&[EDIT_FORMAT + 1]).unwrap_err().field,
        "format version"
    );
    assert_eq!(decode(&[0]).unwrap_err().field, "format version");
    assert_eq!(decode(&[1, 0, 0, 0, 0, 0]).unwrap_err().problem, "unknown");
    assert_eq!(
        decode(&[1, 5, 1, 0, 0, 0, 9]).unwrap_err().field,
        "removed table level"
    );
}

#[test]
fn an_ingested_table_keeps_its_global_seqno_and_needs_version_3() {
    let mut edit = VersionEdit::new();
    let seqno = SeqNo::new(42).unwrap();
    let info = TableInfo {
        global_seqno: Some(seqno),
        ..info(7, b"a", b"b", 42)
    };
    edit.added.push((Level::new(6).unwrap(), info));
    let mut buf = Vec::new();
    encode(&edit, &mut buf);
    assert_eq!(buf[0], EDIT_FORMAT);
    assert_eq!(buf[1], 12, "tag 12: add ingested table");
    assert_eq!(decode(&buf).unwrap(), edit);
    // Version 3 wrote the same bytes (version 4 changed no edit byte).
    buf[0] = 3;
    assert_eq!(decode(&buf).unwrap(), edit);
    buf[0] = 2;
    let err = decode(&buf).unwrap_err();
    assert_eq!((err.field, err.problem), ("field tag", "unknown"));
}

fn options() -> TreeOptions {
    TreeOptions {
        memtable_size: 1 << 20,
        table_size: 2 << 20,
        block_size: 4096,
        bloom_bits_per_key: 10,
        base_level_size: 64 << 20,
        level_multiplier: 10,
        compression: crate::DEFAULT_COMPRESSION,
    }
}

/// The field bytes of one tag: tag, length, body.
fn field(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn keyspace_fields_follow_the_spec_layout() {
    let edit = VersionEdit {
        keyspace: KeyspaceId(5),
        create: Some(KeyspaceDef {
            name: "log".to_owned(),
            options: options(),
        }),
        last_keyspace: Some(KeyspaceId(5)),
        log_number: Some(9),
        ..VersionEdit::default()
    };
    let mut buf = Vec::new();
    encode(&edit, &mut buf);
    let mut create = vec![3, b'l', b'o', b'g'];
    for n in [1u64 << 20, 2 << 20] {
        create.extend_from_slice(&n.to_le_bytes());
    }
    create.extend_from_slice(&4096u32.to_le_bytes());
    create.extend_from_slice(&10u32.to_le_bytes());
    create.extend_from_slice(&(64u64 << 20).to_le_bytes());
    create.extend_from_slice(&10u64.to_le_bytes());
    create.extend_from_slice(&[1, 1, 2, 2, 2, 2, 3]); // none, lz4, zstd per level
    let mut want = vec![EDIT_FORMAT];
    want.extend(field(7, &5u32.to_le_bytes()));
    want.extend(field(8, &create));
    want.extend(field(10, &5u32.to_le_bytes()));
    want.extend(field(1, &9u64.to_le_bytes()));
    assert_eq!(buf, want);
    assert_eq!(decode(&buf), Ok(edit));
    // A drop: an empty body, after the keyspace.
    let drop = VersionEdit {
        keyspace: KeyspaceId(5),
        drop: true,
        ..VersionEdit::default()
    };
    let mut buf = Vec::new();
    encode(&drop, &mut buf);
    let mut want = vec![EDIT_FORMAT];
    want.extend(field(7, &5u32.to_le_bytes()));
    want.extend(field(9, &[]));
    assert_eq!(buf, want);
}

#[test]
fn a_version_1_edit_reads_into_the_default_keyspace_and_knows_no_keyspace_tags() {
    let mut v1 = vec![1];
    v1.extend(field(1, &4u64.to_le_bytes()));
    v1.extend(field(5, &[1, 7, 0, 0, 0, 0, 0, 0, 0]));
    let edit = decode(&v1).unwrap();
    assert_eq!(edit.keyspace, KeyspaceId::DEFAULT);
    assert_eq!(edit.log_number, Some(4));
    assert_eq!(edit.removed, [(l(1), TableId(7))]);
    for tag in 7..=10u8 {
        let mut bad = vec![1];
        bad.extend(field(tag, &5u32.to_le_bytes()));
        let err = decode(&bad).unwrap_err();
        assert_eq!(
            (err.at, err.field, err.problem),
            (1, "field tag", "unknown"),
            "tag {tag}"
        );
    }
}

#[test]
fn keyspace_fields_that_cannot_be_right_are_refused_by_name() {
    let ks = |id: u32| field(7, &id.to_le_bytes());
    let mut create_body = vec![1, b'x'];
    create_body.extend_from_slice(&[0; 40]);
    create_body.extend_from_slice(&[1; crate::LEVELS]);
    let create = field(8, &create_body);
    let cases: Vec<(Vec<Vec<u8>>, &str, &str)> = vec![
        (vec![ks(1), ks(2)], "keyspace", "appears twice"),
        (
            vec![create.clone()],
            "create keyspace",
            "names the default keyspace",
        ),
        (
            vec![field(9, &[])],
            "drop keyspace",
            "names the default keyspace",
        ),
        (
            vec![ks(3), create.clone(), field(9, &[])],
            "drop keyspace",
            "in the edit that creates it",
        ),
        (
            vec![ks(3), field(9, &[1])],
            "field body",
            "has trailing bytes",
        ),
        (vec![ks(3), field(8, &[0])], "keyspace name", "is empty"),
        (
            vec![ks(3), field(8, &[2, 0xff, 0xfe])],
            "keyspace name",
            "is not UTF-8",
        ),
        (
            vec![ks(3), field(8, &[5, b'a'])],
            "keyspace name",
            "runs past the end",
        ),
        (
            vec![ks(3), field(8, &[1, b'a', 0])],
            "keyspace memtable size",
            "runs past the end",
        ),
        (vec![field(7, &[1, 0])], "keyspace", "runs past the end"),
    ];
    for (fields, field_name, problem) in cases {
        let mut buf = vec![EDIT_FORMAT];
        buf.extend(fields.concat());
        let err = decode(&buf).unwrap_err();
        assert_eq!((err.field, err.problem), (field_name, problem), "{buf:?}");
    }
    let mut adds_and_drops = VersionEdit {
        keyspace: KeyspaceId(3),
        ..VersionEdit::default()
    };
    adds_and_drops
        .added
        .push((Level::L0, info(7, b"a", b"b", 1)));
    let mut buf = Vec::new();
    encode(&adds_and_drops, &mut buf);
    buf.extend(field(9, &[]));
    assert_eq!(
        decode(&buf).unwrap_err().problem,
        "in an edit that adds tables"
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

#[test]
fn the_wal_segment_tag_round_trips_and_is_unknown_before_version_3() {
    let edit = VersionEdit {
        wal_segment: Some(42),
        ..VersionEdit::new()
    };
    let mut buf = Vec::new();
    encode(&edit, &mut buf);
    assert_eq!(decode(&buf).unwrap(), edit);
    let mut body = vec![11u8];
    body.extend_from_slice(&8u32.to_le_bytes());
    body.extend_from_slice(&42u64.to_le_bytes());
    for old in [1u8, 2] {
        let mut v = vec![old];
        v.extend_from_slice(&body);
        assert_eq!(decode(&v).unwrap_err().problem, "unknown", "version {old}");
    }
}
