//! Checksums of blocks and the footer: xxh3-64 seeded with the position in the file.
//!
//! Seeding with the offset makes a block (or footer) that is intact but written at the
//! wrong place fail its check, as does a table whose tail was cut or extended.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The checksum of `covered` (a block's contents followed by its compression byte, or
/// the footer's fields) found at `offset` in the file.
#[inline]
pub(crate) fn checksum(covered: &[u8], offset: u64) -> u64 {
    xxh3_64_with_seed(covered, offset)
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
    }
}
