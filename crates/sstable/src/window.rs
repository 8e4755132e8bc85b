//! Key windows: the eight bytes of a user key that follow a prefix shared by a whole
//! sorted run of keys, read as a big-endian integer.
//!
//! Among keys that start with the prefix, windows are ordered like the keys (a smaller
//! window means a smaller key, a larger one a larger key; equal windows say nothing).
//! A binary search over a flat array of windows stays in the CPU cache and settles
//! almost every comparison; only keys with equal windows need their bytes compared.

use std::cmp::Ordering;

use crate::compare::cmp_bytes;

/// The prefix that every key of a sorted run starts with, and the windows after it.
#[derive(Debug, Default)]
pub(crate) struct KeyWindows {
    prefix: Box<[u8]>,
}

/// Where a user key lies relative to the keys that start with the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Before every key with the prefix.
    Before,
    /// After every key with the prefix.
    After,
    /// Starts with the prefix; its window follows.
    At(u64),
}

impl KeyWindows {
    /// Windows after the common prefix of `first` and `last`, the smallest and the
    /// largest user key of a sorted run: every key between them starts with it.
    pub(crate) fn spanning(first: &[u8], last: &[u8]) -> Self {
        let shared = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        KeyWindows {
            prefix: first[..shared].into(),
        }
    }

    /// Where `user_key` lies; [`Place::At`] iff it starts with the prefix.
    #[inline]
    pub(crate) fn place(&self, user_key: &[u8]) -> Place {
        let cp = self.prefix.len();
        let head = &user_key[..cp.min(user_key.len())];
        match cmp_bytes(head, &self.prefix[..head.len()]) {
            Ordering::Less => Place::Before,
            Ordering::Greater => Place::After,
            // A strict prefix of the prefix sorts before every key that has it all.
            Ordering::Equal if user_key.len() < cp => Place::Before,
            Ordering::Equal => Place::At(window(user_key, cp)),
        }
    }

    /// Length of the prefix: the window of a key starts at this byte.
    #[inline]
    pub(crate) fn prefix_len(&self) -> usize {
        self.prefix.len()
    }

    /// Heap bytes held (the prefix).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.prefix.len()
    }

    /// The window of `user_key`, or `None` if it does not start with the prefix.
    pub(crate) fn window_of(&self, user_key: &[u8]) -> Option<u64> {
        match self.place(user_key) {
            Place::At(w) => Some(w),
            Place::Before | Place::After => None,
        }
    }
}

/// The 8 bytes of `user_key` after its first `skip`, zero-padded, as a big-endian
/// integer: monotone in the key among keys sharing those first `skip` bytes.
#[inline]
fn window(user_key: &[u8], skip: usize) -> u64 {
    if let Some(&bytes) = user_key.get(skip..).and_then(|r| r.first_chunk::<8>()) {
        return u64::from_be_bytes(bytes);
    }
    let mut w = [0u8; 8];
    let rest = user_key.get(skip..).unwrap_or_default();
    let n = rest.len().min(8);
    w[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn places_keys_around_the_prefix() {
        let w = KeyWindows::spanning(b"key0001", b"key0999");
        assert_eq!(w.place(b"a"), Place::Before);
        assert_eq!(w.place(b"ke"), Place::Before);
        assert_eq!(w.place(b"key1"), Place::After);
        assert_eq!(w.place(b"key0"), Place::At(0));
        assert_eq!(
            w.window_of(b"key0001"),
            Some(u64::from_be_bytes(*b"001\0\0\0\0\0"))
        );
        assert_eq!(w.window_of(b"kez"), None);
    }

    quickcheck! {
        fn windows_are_ordered_like_keys(prefix: Vec<u8>, a: Vec<u8>, b: Vec<u8>) -> bool {
            let (a, b) = ([prefix.as_slice(), &a].concat(), [prefix.as_slice(), &b].concat());
            let w = KeyWindows::spanning(&prefix, &prefix);
            match (w.window_of(&a), w.window_of(&b)) {
                (Some(x), Some(y)) => x == y || x.cmp(&y) == a.cmp(&b),
                _ => false,
            }
        }
    }
}
