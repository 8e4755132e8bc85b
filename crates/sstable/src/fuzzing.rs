//! Entry points for the fuzz targets in `fuzz/`, also replayed over the committed seed
//! corpora by `cargo test` (`tests/fuzz_corpus.rs`), so both run the same code.
//!
//! Each function decodes arbitrary bytes the way the reader would and checks a property
//! that must hold for every input. Decoding errors are expected and fine; `Err` means a
//! property failed, which is a bug (the fuzz target panics on it).

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use quickcache_fs::Mapping;

use crate::block::BlockLayout;
use crate::block::cursor::BlockCursor;
use crate::bloom::{Bloom, BloomBuilder, key_hash};
use crate::compression::{compress, decompress};
use crate::footer::{FOOTER_LEN, Footer};
use crate::origin::BlockId;
use crate::{
    Compression, Cursor, InternalKey, KeyRef, MAX_RAW_LEN, Properties, SeqNo, SummaryBudget, Table,
};

/// At most this many entries are walked, so that each input runs quickly.
const MAX_STEPS: usize = 4096;

/// A broken property, described.
pub type Bug = String;

/// Decodes `data` as one block (no trailer) and walks it both ways. Property: if the
/// forward walk succeeds and its keys strictly increase, the backward walk succeeds and
/// yields the same keys reversed, and seeking to each key finds it.
pub fn block(data: &[u8]) -> Result<(), Bug> {
    let map = Mapping::new(data.to_vec());
    let file: Arc<Path> = Arc::from(Path::new("<fuzz block>"));
    let Ok(layout) = BlockLayout::parse(&map, 0, map.len(), &file, BlockId::Loose) else {
        return Ok(());
    };
    let mut c = BlockCursor::new(map, file, layout);
    let Some(forward) = walk(&mut c, true) else {
        return Ok(());
    };
    if !forward.windows(2).all(|w| w[0] < w[1]) {
        return Ok(());
    }
    let mut backward =
        walk(&mut c, false).ok_or("backward walk failed after forward walk succeeded")?;
    backward.reverse();
    if backward != forward {
        return Err(format!(
            "forward {forward:?} != reversed backward {backward:?}"
        ));
    }
    for key in &forward {
        if c.seek(key.as_ref()).is_err() || c.key() != Some(key.as_ref()) {
            return Err(format!("seek to {key:?} does not find it"));
        }
    }
    Ok(())
}

/// Decodes `data[1..]` as the stored contents of a compressed block (`data[0]` even:
/// lz4, odd: zstd), as the reader would after the block passed its checksum.
/// Properties: decompression never panics; what it yields has exactly the stated raw
/// length, at most [`MAX_RAW_LEN`]; the result then walks as a block (see [`block`]).
/// And `data[1..]` compressed and decompressed again is itself.
pub fn compressed_block(data: &[u8]) -> Result<(), Bug> {
    let Some((&selector, stored)) = data.split_first() else {
        return Ok(());
    };
    let kind = match selector % 2 {
        0 => Compression::Lz4,
        _ => Compression::Zstd,
    };
    if let Ok(raw) = decompress(kind, stored) {
        let mut pos = 0;
        let stated = crate::wire::varint32(stored, &mut pos, "raw length").ok();
        if stated != Some(raw.len() as u32) || raw.len() > MAX_RAW_LEN {
            return Err(format!(
                "{kind}: {} bytes decoded, {stated:?} stated",
                raw.len()
            ));
        }
        block(&raw)?;
    }
    if let Some(again) = compress_block(kind, stored) {
        match decompress(kind, &again) {
            Ok(back) if back == stored => {}
            Ok(_) => return Err(format!("{kind}: round trip changed the bytes")),
            Err(e) => return Err(format!("{kind}: own output refused: {e}")),
        }
    }
    Ok(())
}

/// The stored contents of `raw` compressed as `kind` would be written to a table, or
/// `None` if the writer would store it uncompressed. For seeds and tests.
pub fn compress_block(kind: Compression, raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress(kind, raw, &mut out).then_some(out)
}

/// Collects the keys of a full walk; `None` if any step fails or it is too long.
fn walk(c: &mut impl Cursor, forward: bool) -> Option<Vec<InternalKey>> {
    let mut keys = Vec::new();
    if forward {
        c.seek_to_first()
    } else {
        c.seek_to_last()
    }
    .ok()?;
    while let Some(k) = c.key() {
        keys.push(k.to_owned());
        if keys.len() > MAX_STEPS {
            return None;
        }
        if forward { c.next() } else { c.prev() }.ok()?;
    }
    Some(keys)
}

/// Opens `data` as a whole table. Property: if it opens and `verify()` passes, a forward
/// walk succeeds with strictly increasing keys, every key's user key is found by `get`
/// with the newest entry visible at that entry's seqno, and the backward walk mirrors it.
/// Checked twice: with block summaries, and with a summary budget of 0 (lookups without
/// them).
pub fn table(data: &[u8]) -> Result<(), Bug> {
    table_with(data, SummaryBudget::unlimited())?;
    table_with(data, SummaryBudget::new(0))
}

fn table_with(data: &[u8], budget: SummaryBudget) -> Result<(), Bug> {
    let map = Mapping::new(data.to_vec());
    let Ok(table) = Table::from_mapping_with(map, "<fuzz table>", budget) else {
        return Ok(());
    };
    let verified = table.verify().is_ok();
    let mut c = table.cursor();
    let forward = walk(&mut c, true);
    let _ = table.get(b"", SeqNo::MAX);
    let _ = table.iter_plain().take(MAX_STEPS).count();
    if !verified {
        return Ok(());
    }
    let forward = forward.ok_or("verified table failed its forward walk")?;
    if !forward.windows(2).all(|w| w[0] < w[1]) {
        return Err("verified table yields keys out of order".into());
    }
    let mut backward = walk(&mut c, false).ok_or("verified table failed its backward walk")?;
    backward.reverse();
    if backward != forward {
        return Err("backward walk differs from forward walk".into());
    }
    for key in &forward {
        let found = table
            .get(&key.user_key, key.seqno)
            .map_err(|e| format!("get {key:?}: {e}"))?;
        if found.is_none_or(|e| e.seqno < key.seqno) {
            return Err(format!("get misses {key:?}"));
        }
    }
    Ok(())
}

/// Parses `data` as a filter block's contents and queries it. Property: a filter built
/// from keys cut out of `data` answers "maybe" for each of them.
pub fn filter(data: &[u8]) -> Result<(), Bug> {
    if let Ok(bloom) = Bloom::parse(data, 0..data.len()) {
        for chunk in data.chunks(7).take(64) {
            let _ = bloom.may_contain(data, key_hash(chunk));
        }
    }
    let keys: Vec<&[u8]> = data.chunks(5).collect();
    let mut builder = BloomBuilder::new(data.first().map_or(10, |&b| usize::from(b % 24)));
    keys.iter().for_each(|k| builder.add_key(k));
    let mut built = Vec::new();
    builder.finish(&mut built);
    let bloom = Bloom::parse(&built, 0..built.len())
        .map_err(|e| format!("built filter does not parse: {e}"))?;
    match keys
        .iter()
        .find(|k| !bloom.may_contain(&built, key_hash(k)))
    {
        Some(k) => Err(format!("false negative for {k:?}")),
        None => Ok(()),
    }
}

/// Decodes `data` as a footer at the offset its length implies. Property: a footer that
/// decodes re-encodes to the same bytes.
pub fn footer(data: &[u8]) -> Result<(), Bug> {
    let Some(at) = data.len().checked_sub(FOOTER_LEN) else {
        return Ok(());
    };
    let Ok(footer) = Footer::decode(&data[at..], at as u64) else {
        return Ok(());
    };
    let mut again = Vec::new();
    footer.encode(at as u64, &mut again);
    if again != data[at..] {
        return Err(format!("footer {footer:?} re-encodes differently"));
    }
    Ok(())
}

/// Decodes `data` as a properties block's contents. Property: properties that decode
/// re-encode to the same bytes and are self-consistent.
pub fn properties(data: &[u8]) -> Result<(), Bug> {
    let Ok(props) = Properties::decode(data) else {
        return Ok(());
    };
    let mut again = Vec::new();
    props.encode(&mut again);
    if again != data {
        return Err(format!("properties {props:?} re-encode differently"));
    }
    let key_order = props
        .smallest_key
        .as_ref()
        .map(InternalKey::as_ref)
        .cmp(&props.largest_key.as_ref().map(InternalKey::as_ref));
    if key_order == Ordering::Greater || props.tombstone_count > props.entry_count {
        return Err(format!("inconsistent properties accepted: {props:?}"));
    }
    let _ = KeyRef::decode(data);
    Ok(())
}

/// Decodes `data` as a range-deletion block's contents. Property: fragments that
/// decode are well formed, re-encode to the same bytes, and answer coverage queries as
/// a fragmentation of their own tombstones does.
pub fn range_del_block(data: &[u8]) -> Result<(), Bug> {
    let Ok(list) = crate::range_del::block::decode(data) else {
        return Ok(());
    };
    if !crate::range_del::well_formed(list.fragments()) {
        return Err(format!("malformed fragments accepted: {list:?}"));
    }
    let mut again = Vec::new();
    crate::range_del::block::encode(&list, &mut again);
    if again != data {
        return Err(format!(
            "range deletion block {list:?} re-encodes differently"
        ));
    }
    let refragmented = crate::FragmentedRangeTombstones::new(list.tombstones().collect());
    for f in list.fragments().iter().take(MAX_STEPS) {
        for probe in [&f.start, &f.end] {
            let (a, b) = (
                list.max_covering(probe, SeqNo::MAX),
                refragmented.max_covering(probe, SeqNo::MAX),
            );
            if a != b {
                return Err(format!(
                    "coverage of {probe:?}: {a:?} decoded, {b:?} refragmented"
                ));
            }
        }
    }
    Ok(())
}
