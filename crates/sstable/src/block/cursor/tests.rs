//! Tests of the block cursor: conformance with the shared harness, damaged entries.

use super::*;
use crate::block::builder::BlockBuilder;
use crate::conformance::{Model, check_cursor};
use crate::origin::BlockId;
use crate::{InternalKey, SeqNo, ValueKind};
use quickcheck::{TestResult, quickcheck};

fn cursor_over(model: &Model, restart_interval: usize) -> BlockCursor {
    let mut b = BlockBuilder::new(restart_interval);
    let mut enc = Vec::new();
    for (k, v) in model {
        enc.clear();
        k.as_ref().encode_into(&mut enc);
        b.add(&enc, v);
    }
    let bytes = b.finish().to_vec();
    let file: Arc<Path> = Arc::from(Path::new("block"));
    let layout = BlockLayout::parse(&bytes, 0, bytes.len(), &file, BlockId::Loose).unwrap();
    BlockCursor::new(Mapping::new(bytes), file, layout)
}

fn model(entries: &[(&[u8], u64, bool)]) -> Model {
    entries
        .iter()
        .map(|&(k, s, tomb)| {
            let kind = if tomb {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            let value = if tomb {
                Vec::new()
            } else {
                [k, b"-v"].concat()
            };
            (InternalKey::new(k, SeqNo::new(s).unwrap(), kind), value)
        })
        .collect()
}

#[test]
fn conformance_small_and_empty() {
    let m = model(&[
        (b"a", 1, false),
        (b"ab", 3, true),
        (b"ab", 2, false),
        (b"abc", 9, false),
        (b"b", 1, false),
    ]);
    for interval in [1, 2, 3, 16] {
        check_cursor(&mut cursor_over(&m, interval), &m);
    }
    check_cursor(&mut cursor_over(&Model::new(), 16), &Model::new());
}

quickcheck! {
    fn conformance_random(keys: Vec<(Vec<u8>, u8, bool)>, interval: u8) -> TestResult {
        if keys.len() > 200 {
            return TestResult::discard();
        }
        let m: Model = keys
            .into_iter()
            .map(|(k, s, tomb)| {
                let kind = if tomb { ValueKind::Tombstone } else { ValueKind::Value };
                let v = k.iter().rev().copied().collect();
                (InternalKey::new(k, SeqNo::new(u64::from(s)).unwrap(), kind), v)
            })
            .collect();
        check_cursor(&mut cursor_over(&m, usize::from(interval % 20) + 1), &m);
        TestResult::passed()
    }

    fn decoding_garbage_never_panics(bytes: Vec<u8>) -> bool {
        crate::fuzzing::block(&bytes).is_ok()
    }
}

#[test]
fn damaged_entries_are_errors_naming_the_block() {
    let m = model(&[(b"apple", 1, false), (b"apricot", 2, false)]);
    let c = cursor_over(&m, 16);
    let mut bytes = c.data().to_vec();
    bytes[0] = 200; // shared length larger than any previous key
    let file: Arc<Path> = Arc::from(Path::new("t.sst"));
    let layout = BlockLayout::parse(&bytes, 0, bytes.len(), &file, BlockId::Data(7)).unwrap();
    let mut c = BlockCursor::new(Mapping::new(bytes), file, layout);
    let err = c.seek_to_first().unwrap_err();
    assert!(err.is_corruption());
    assert!(err.to_string().contains("data block 7"), "{err}");
    assert!(!c.valid());
}
