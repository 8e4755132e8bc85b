//! [`KeyRange`]: what `range` and `compact_range` take, so that `db.range(..)` needs
//! no type annotation.

use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// A range of keys: `..`, `a..b`, `a..=b`, `a..`, `..b`, `..=b`, or a pair of
/// [`Bound`]s, over any key type that is bytes (`&str`, `&[u8]`, `Vec<u8>`,
/// `String`, `[u8; N]`, ...).
///
/// [`std::ops::RangeBounds`] cannot serve here: `..` is a `RangeBounds<K>` for
/// every `K`, so `db.range(..)` would need `db.range(..)`.
///
/// # Examples
/// ```
/// use std::ops::Bound;
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// for k in ["a", "b", "c", "d"] {
///     db.put(k, "v")?;
/// }
/// assert_eq!(db.range(..).count(), 4);
/// assert_eq!(db.range("b"..).count(), 3);
/// assert_eq!(db.range(..="b").count(), 2);
/// assert_eq!(db.range(b"b".to_vec()..b"d".to_vec()).count(), 2);
/// assert_eq!(db.range((Bound::Excluded("a"), Bound::Unbounded)).count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeyRange {
    /// The range's bounds as owned keys.
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>);
}

fn owned<K: AsRef<[u8]>>(bound: Bound<K>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KeyRange for RangeFull {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for Range<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (
            owned(Bound::Included(self.start)),
            owned(Bound::Excluded(self.end)),
        )
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeInclusive<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let (start, end) = self.into_inner();
        (owned(Bound::Included(start)), owned(Bound::Included(end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeFrom<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (owned(Bound::Included(self.start)), Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeTo<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, owned(Bound::Excluded(self.end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeToInclusive<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, owned(Bound::Included(self.end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for (Bound<K>, Bound<K>) {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (owned(self.0), owned(self.1))
    }
}
