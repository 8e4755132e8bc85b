//! Fast comparisons of keys as stored in blocks: short byte strings compared eight
//! bytes at a time, inline, instead of through a `memcmp` call per comparison (which
//! dominated lookups of 16-byte keys).

use std::cmp::Ordering;

use crate::{KeyRef, TRAILER_LEN};

/// Compares two byte strings lexicographically, as `a.cmp(b)` does, eight bytes at
/// a time and inline (no `memcmp` call): for hot loops over short keys.
///
/// # Examples
/// ```
/// use std::cmp::Ordering;
/// assert_eq!(quickcache_sstable::cmp_bytes(b"key00001", b"key00002"), Ordering::Less);
/// assert_eq!(quickcache_sstable::cmp_bytes(b"ab", b"a"), Ordering::Greater);
/// ```
#[inline]
pub fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let (x, y) = (word(x), word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    // At least one side has fewer than 8 bytes left: compare the few left inline too
    // (a slice comparison would still call `memcmp`), then the shorter comes first.
    let done = a.len().min(b.len()) / 8 * 8;
    let (ra, rb) = (
        a.get(done..).unwrap_or_default(),
        b.get(done..).unwrap_or_default(),
    );
    for (x, y) in ra.iter().zip(rb) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The length of the longest common prefix of `a` and `b`, found eight bytes at a time.
#[inline]
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut done = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let diff = word(x) ^ word(y);
        if diff != 0 {
            // Big-endian words: the first differing byte holds the highest set bit.
            return done + (diff.leading_zeros() / 8) as usize;
        }
        done += 8;
    }
    let rest = a.get(done..).unwrap_or_default().iter();
    done + rest
        .zip(b.get(done..).unwrap_or_default())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Eight bytes as a big-endian integer, so integer order is byte order.
#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_be_bytes(w)
}

/// Compares an encoded internal key with `target` by the internal-key order; `None` if
/// `encoded` is shorter than a trailer.
#[inline]
pub(crate) fn cmp_encoded_to(encoded: &[u8], target: KeyRef<'_>) -> Option<Ordering> {
    let split = encoded.len().checked_sub(TRAILER_LEN)?;
    let (user, trailer) = encoded.split_at(split);
    let trailer = u64::from_le_bytes(trailer.try_into().ok()?);
    Some(cmp_bytes(user, target.user_key).then_with(|| target.trailer().cmp(&trailer)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn matches_slice_order(a: Vec<u8>, b: Vec<u8>, shared: Vec<u8>) -> bool {
            let (a, b) = ([shared.as_slice(), &a].concat(), [shared.as_slice(), &b].concat());
            cmp_bytes(&a, &b) == a.cmp(&b) && cmp_bytes(&a, &a) == Ordering::Equal
        }
    }

    quickcheck! {
        fn common_prefix_is_the_longest(a: Vec<u8>, b: Vec<u8>, shared: Vec<u8>) -> bool {
            let (a, b) = ([shared.as_slice(), &a].concat(), [shared.as_slice(), &b].concat());
            let n = common_prefix(&a, &b);
            a[..n] == b[..n] && (n == a.len() || n == b.len() || a[n] != b[n])
        }
    }

    #[test]
    fn prefixes_sort_first() {
        assert_eq!(cmp_bytes(b"abcdefgh", b"abcdefghi"), Ordering::Less);
        assert_eq!(cmp_bytes(b"abcdefghij", b"abcdefgh"), Ordering::Greater);
        assert_eq!(cmp_bytes(b"", b""), Ordering::Equal);
        assert_eq!(cmp_bytes(b"abcdefgz", b"abcdefgha"), Ordering::Greater);
    }
}
