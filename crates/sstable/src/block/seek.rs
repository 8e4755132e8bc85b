//! Seeks inside one block: choosing the restart point to start from, and the lean
//! forward scan `Table::get` takes (a borrowed slice, no cursor, no reference
//! counting), decoding exactly as the cursor does.

use std::cmp::Ordering;
use std::path::Path;

use super::{BlockLayout, entry_header};
use crate::compare::{cmp_encoded_to, common_prefix};
use crate::origin::corruption;
use crate::{KeyRef, Result, TRAILER_LEN};

/// The entry a seek landed on; its encoded key is left in the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    /// Position of the entry.
    pub(crate) pos: usize,
    /// Bytes its key shares with the previous entry's.
    pub(crate) shared: usize,
    /// Position of the value in the buffer; the entry ends with it.
    pub(crate) value_start: usize,
    /// Length of the value.
    pub(crate) value_len: usize,
}

/// Restart points `lo..=hi` of a block, among which lies the one a seek starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidates {
    /// The first candidate: its key is `< target`, or it is restart point 0.
    pub(crate) lo: usize,
    /// The last candidate.
    pub(crate) hi: usize,
}

/// The last restart point among `c` whose key is `< target`, or `c.lo`: where a seek
/// for `target` starts scanning. Binary-searches the restart keys in the block.
pub(crate) fn last_restart_below(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    target: KeyRef<'_>,
    c: Candidates,
) -> Result<usize> {
    let (mut lo, mut hi) = (c.lo, c.hi);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if restart_key_cmp(data, layout, file, mid, target)? == Ordering::Less {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// What a scan knows of the current entry's key.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// The key is in the key buffer.
    Key,
    /// The key is `< target`: its user key equals the target's up to byte `m` and has
    /// a smaller byte there. The key buffer is stale.
    Below(usize),
}

/// Scans entries from the entry at `pos` to the first one `>= target`, leaving its
/// encoded key in `key`; `None` if every entry of the block is smaller. The entry at
/// `pos` is a restart entry if `start_below` is `None`; `Some(m)` says instead that the
/// entry before `pos` is `< target`, its user key equal to the target's up to byte `m`
/// and smaller there (and at least `m + 1` bytes long).
///
/// Most entries are passed over without building their key: once a key is known to
/// be smaller than the target at byte `m` of the user key, a following entry that
/// shares more than `m` bytes with it is smaller at the same byte, and one that shares
/// at most `m` bytes shares them with the target too, so only its own bytes need
/// comparing. Keys are built only for entries that are not plainly smaller.
#[inline]
pub(crate) fn scan_from(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    mut pos: usize,
    start_below: Option<usize>,
    target: KeyRef<'_>,
    key: &mut Vec<u8>,
) -> Result<Option<Found>> {
    let t = target.user_key;
    let (mut known, mut key_len) = match start_below {
        // The previous key's length is unknown, but `m < t.len()` bounds every slice
        // of the target the scan takes.
        Some(m) if m < t.len() => (Known::Below(m), usize::MAX),
        _ => (Known::Key, 0),
    };
    key.clear();
    while pos < layout.restarts {
        let h = entry_header(data, layout, file, pos)?;
        if h.shared > key_len {
            return Err(bad_entry(
                file,
                layout,
                pos,
                "entry shares more than the previous key",
            ));
        }
        key_len = h.shared + h.delta_len;
        let delta = &data[h.delta_start..h.value_start];
        match known {
            Known::Below(m) if h.shared > m => {
                pos = h.end();
                continue;
            }
            Known::Below(_) => {
                // The key is t[..shared] ++ delta, as shared <= m.
                if let Some(user_len) = key_len.checked_sub(TRAILER_LEN)
                    && let Some(own) = delta.get(..user_len.saturating_sub(h.shared))
                    && user_len >= h.shared
                {
                    let rest = &t[h.shared..];
                    let n = common_prefix(own, rest);
                    if let (Some(a), Some(b)) = (own.get(n), rest.get(n))
                        && a < b
                    {
                        known = Known::Below(h.shared + n);
                        pos = h.end();
                        continue;
                    }
                }
                key.clear();
                key.extend_from_slice(&t[..h.shared]);
                key.extend_from_slice(delta);
            }
            Known::Key => {
                key.truncate(h.shared);
                key.extend_from_slice(delta);
            }
        }
        match cmp_encoded_to(key, target) {
            Some(Ordering::Less) => {
                known = below(key, t);
                pos = h.end();
            }
            // The kind byte is checked only on the entry returned.
            Some(_) if KeyRef::decode(key).is_some() => {
                return Ok(Some(Found {
                    pos,
                    shared: h.shared,
                    value_start: h.value_start,
                    value_len: h.value_len,
                }));
            }
            _ => {
                return Err(bad_entry(
                    file,
                    layout,
                    pos,
                    "entry key is not an internal key",
                ));
            }
        }
    }
    Ok(None)
}

/// What is known of `key`, an encoded key `< target` whose user key is `t`.
#[inline]
fn below(key: &[u8], t: &[u8]) -> Known {
    let user = &key[..key.len().saturating_sub(TRAILER_LEN)];
    let m = common_prefix(user, t);
    // Smaller at a byte both user keys have (not by being a prefix, nor by its
    // sequence number): only then do the following keys' shared lengths say enough.
    if m < user.len() && m < t.len() {
        Known::Below(m)
    } else {
        Known::Key
    }
}

/// A corruption error for the entry at `pos`; out of line, off the scan's hot path.
#[cold]
fn bad_entry(file: &Path, layout: &BlockLayout, pos: usize, reason: &str) -> crate::Error {
    corruption(file, layout.id, pos as u64, reason)
}

/// Compares the full key of restart entry `i` with `target`.
#[inline]
pub(crate) fn restart_key_cmp(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    i: usize,
    target: KeyRef<'_>,
) -> Result<Ordering> {
    let pos = layout.restart_point(data, i, file)?;
    let h = entry_header(data, layout, file, pos)?;
    if h.shared != 0 {
        return Err(corruption(
            file,
            layout.id,
            pos as u64,
            "restart entry shares a key prefix",
        ));
    }
    let key = &data[h.delta_start..h.delta_start + h.delta_len];
    cmp_encoded_to(key, target).ok_or_else(|| {
        corruption(
            file,
            layout.id,
            pos as u64,
            "restart key is not an internal key",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::builder::BlockBuilder;
    use crate::origin::BlockId;
    use crate::{InternalKey, SeqNo, ValueKind};
    use quickcheck::quickcheck;

    /// Scans `keys` (sorted, distinct) as a block for `target` from every restart point
    /// at or before the right one, and checks the answer against a linear search.
    fn scan_agrees(mut keys: Vec<InternalKey>, target: InternalKey, interval: usize) -> bool {
        keys.sort();
        keys.dedup();
        let mut b = BlockBuilder::new(interval);
        let mut enc = Vec::new();
        for k in &keys {
            enc.clear();
            k.as_ref().encode_into(&mut enc);
            b.add(&enc, b"v");
        }
        let bytes = b.finish().to_vec();
        let file = Path::new("block");
        let layout = BlockLayout::parse(&bytes, 0, bytes.len(), file, BlockId::Loose).unwrap();
        let target = target.as_ref();
        let want = keys.iter().find(|k| k.as_ref() >= target);
        let Some(hi) = layout.num_restarts.checked_sub(1) else {
            return want.is_none();
        };
        let all = Candidates { lo: 0, hi };
        let r = last_restart_below(&bytes, &layout, file, target, all).unwrap();
        let pos = layout.restart_point(&bytes, r, file).unwrap();
        let mut key = Vec::new();
        let found = scan_from(&bytes, &layout, file, pos, None, target, &mut key).unwrap();
        match (found, want) {
            (None, None) => true,
            (Some(_), Some(w)) => KeyRef::decode(&key) == Some(w.as_ref()),
            _ => false,
        }
    }

    fn ikey(user: Vec<u8>, seq: u8) -> InternalKey {
        InternalKey::new(user, SeqNo::new(u64::from(seq)).unwrap(), ValueKind::Value)
    }

    quickcheck! {
        fn scan_finds_the_first_key_not_below(
            keys: Vec<(Vec<u8>, u8)>,
            target: (Vec<u8>, u8),
            interval: u8
        ) -> bool {
            // Few distinct bytes, so that keys share long prefixes and differ late.
            let squash = |v: Vec<u8>| v.into_iter().map(|b| b % 3).collect::<Vec<_>>();
            let keys = keys.into_iter().map(|(k, s)| ikey(squash(k), s % 4)).collect();
            let target = ikey(squash(target.0), target.1 % 4);
            scan_agrees(keys, target, usize::from(interval % 8) + 1)
        }
    }

    #[test]
    fn scan_handles_prefixes_and_versions() {
        let keys: Vec<InternalKey> = [
            (&b"a"[..], 1),
            (b"ab", 3),
            (b"ab", 2),
            (b"abc", 9),
            (b"b", 1),
        ]
        .iter()
        .map(|&(k, s)| ikey(k.to_vec(), s))
        .collect();
        for (t, s) in [
            (&b""[..], 0),
            (b"a", 0),
            (b"ab", 2),
            (b"ab", 9),
            (b"abb", 0),
            (b"abd", 0),
            (b"c", 0),
        ] {
            for interval in 1..6 {
                assert!(
                    scan_agrees(keys.clone(), ikey(t.to_vec(), s), interval),
                    "{t:?} {s}"
                );
            }
        }
    }
}
