//! The range-deletion block: a table's fragmented range tombstones.
//!
//! Specified in `docs/format/sstable.md` ("Range-deletion block"); repeated here:
//!
//! ```text
//! +------------------------+------------+-----+------------------+
//! | fragment count u32 LE  | fragment 0 | ... | fragment n - 1   |
//! +------------------------+------------+-----+------------------+
//!
//! fragment:
//! +-------------------+-------+-----------------+-----+-------------------+----------------------+
//! | start len varint32| start | end len varint32| end | stack len varint32| seqno u64 LE x stack |
//! +-------------------+-------+-----------------+-----+-------------------+----------------------+
//! ```
//!
//! Fragments are sorted and disjoint (`start < end`, each `end <= ` the next `start`),
//! stacks non-empty, strictly descending and at most [`SeqNo::MAX`]; nothing follows
//! the last fragment. The decoder checks all of it and every length against the bytes
//! that remain before it slices or allocates.

use super::{Fragment, FragmentedRangeTombstones};
use crate::SeqNo;
use crate::wire::{self, WireResult, bad};

/// The fewest bytes a fragment takes: three one-byte lengths, a one-byte end and one
/// sequence number. Bounds the fragment count before anything is allocated.
const MIN_FRAGMENT_LEN: usize = 3 + 1 + 8;

/// Appends the block contents of `list` to `out`.
pub(crate) fn encode(list: &FragmentedRangeTombstones, out: &mut Vec<u8>) {
    let count = u32::try_from(list.fragments().len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for f in list.fragments().iter().take(count as usize) {
        wire::put_varint(out, f.start.len() as u64);
        out.extend_from_slice(&f.start);
        wire::put_varint(out, f.end.len() as u64);
        out.extend_from_slice(&f.end);
        wire::put_varint(out, f.seqnos.len() as u64);
        for s in &f.seqnos {
            out.extend_from_slice(&s.get().to_le_bytes());
        }
    }
}

/// Decodes block contents; errors give the position within `buf`.
pub(crate) fn decode(buf: &[u8]) -> WireResult<FragmentedRangeTombstones> {
    let count = wire::u32_at(buf, 0, "range tombstone count")? as usize;
    let mut pos = 4;
    if count > buf.len().saturating_sub(pos) / MIN_FRAGMENT_LEN {
        return Err(bad(0, "range tombstone count", "more than the block holds"));
    }
    let mut fragments: Vec<Fragment> = Vec::with_capacity(count);
    for _ in 0..count {
        let at = pos;
        let f = fragment(buf, &mut pos)?;
        if let Some(prev) = fragments.last()
            && prev.end > f.start
        {
            return Err(bad(
                at,
                "range tombstone start",
                "overlaps the previous fragment",
            ));
        }
        fragments.push(f);
    }
    if pos != buf.len() {
        return Err(bad(
            pos,
            "range deletion block",
            "bytes after the last fragment",
        ));
    }
    Ok(FragmentedRangeTombstones::from_fragments(fragments))
}

fn bytes(buf: &[u8], pos: &mut usize, field: &'static str) -> WireResult<Vec<u8>> {
    let len = wire::varint32(buf, pos, field)? as usize;
    let out = wire::slice(buf, *pos, len, field)?;
    *pos += len;
    Ok(out.to_vec())
}

fn fragment(buf: &[u8], pos: &mut usize) -> WireResult<Fragment> {
    let start = bytes(buf, pos, "range tombstone start")?;
    let end_at = *pos;
    let end = bytes(buf, pos, "range tombstone end")?;
    if start >= end {
        return Err(bad(end_at, "range tombstone end", "not after its start"));
    }
    let stack_at = *pos;
    let n = wire::varint32(buf, pos, "range tombstone stack length")? as usize;
    if n == 0 || n > buf.len().saturating_sub(*pos) / 8 {
        return Err(bad(
            stack_at,
            "range tombstone stack length",
            "empty or longer than the block",
        ));
    }
    let mut seqnos = Vec::with_capacity(n);
    for _ in 0..n {
        let at = *pos;
        let raw = wire::u64_at(buf, at, "range tombstone seqno")?;
        let s = SeqNo::new(raw).ok_or_else(|| bad(at, "range tombstone seqno", "out of range"))?;
        if seqnos.last().is_some_and(|&prev| prev <= s) {
            return Err(bad(
                at,
                "range tombstone seqno",
                "stack not strictly descending",
            ));
        }
        seqnos.push(s);
        *pos += 8;
    }
    Ok(Fragment { start, end, seqnos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_del::RangeTombstone;
    use quickcheck::quickcheck;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    #[test]
    fn round_trips_and_pins_the_layout() {
        let list = FragmentedRangeTombstones::new(vec![RangeTombstone::new("a", "c", seq(7))]);
        let mut out = Vec::new();
        encode(&list, &mut out);
        let mut want = vec![1, 0, 0, 0, 1, b'a', 1, b'c', 1];
        want.extend_from_slice(&7u64.to_le_bytes());
        assert_eq!(out, want);
        assert_eq!(decode(&out), Ok(list));
    }

    #[test]
    fn refuses_what_the_encoder_never_writes() {
        let mut good = Vec::new();
        let list = FragmentedRangeTombstones::new(vec![
            RangeTombstone::new("a", "c", seq(7)),
            RangeTombstone::new("a", "c", seq(3)),
        ]);
        encode(&list, &mut good);
        // Stack order swapped: 3 then 7.
        let mut swapped = good.clone();
        let n = swapped.len();
        swapped[n - 16..n - 8].copy_from_slice(&3u64.to_le_bytes());
        swapped[n - 8..].copy_from_slice(&7u64.to_le_bytes());
        assert_eq!(decode(&swapped).unwrap_err().field, "range tombstone seqno");
        // Start after end.
        let mut reversed = good.clone();
        (reversed[5], reversed[7]) = (b'c', b'a');
        assert_eq!(decode(&reversed).unwrap_err().field, "range tombstone end");
        // A count the bytes cannot hold, and trailing bytes.
        let mut count = good.clone();
        count[0] = 200;
        assert_eq!(decode(&count).unwrap_err().field, "range tombstone count");
        let mut trailing = good;
        trailing.push(0);
        assert_eq!(decode(&trailing).unwrap_err().field, "range deletion block");
    }

    quickcheck! {
        fn decoding_never_panics(bytes: Vec<u8>) -> bool {
            let _ = decode(&bytes);
            true
        }

        fn every_fragmented_list_round_trips(raw: Vec<(Vec<u8>, Vec<u8>, u32)>) -> bool {
            let ts = raw
                .into_iter()
                .map(|(a, b, s)| RangeTombstone::new(a, b, seq(u64::from(s))))
                .collect();
            let list = FragmentedRangeTombstones::new(ts);
            let mut out = Vec::new();
            encode(&list, &mut out);
            decode(&out) == Ok(list)
        }
    }
}
