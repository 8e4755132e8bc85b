//! Checksums of blocks and the footer: xxh3-64 seeded with the position in the file.
//!
//! Seeding with the offset makes a block (or footer) that is intact but written at the
//! wrong place fail its check, as does a table whose tail was cut or extended.

use xxhash_rust::xxh3::{Xxh3, xxh3_64_with_seed};

/// The checksum of `covered` (a block's contents followed by its compression byte, or
/// the footer's fields) found at `offset` in the file.
#[inline]
pub(crate) fn checksum(covered: &[u8], offset: u64) -> u64 {
    xxh3_64_with_seed(covered, offset)
}

/// A running [`checksum`] of bytes found from `offset` on, fed in pieces: a scan for a
/// block's end tests each candidate end without hashing the contents again.
pub(crate) fn running(offset: u64) -> Xxh3 {
    Xxh3::with_seed(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_bytes_and_offset() {
        let a = checksum(b"block", 0);
        assert_ne!(a, checksum(b"block", 4096));
        assert_ne!(a, checksum(b"bloc!", 0));
        assert_eq!(a, checksum(b"block", 0));
        let mut r = running(4096);
        r.update(b"blo");
        r.update(b"ck");
        assert_eq!(r.digest(), checksum(b"block", 4096));
    }
}
