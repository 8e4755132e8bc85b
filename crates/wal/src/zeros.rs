//! The zero-filled end of a segment: the preallocated space after the last record.
//!
//! The writer preallocates each segment (see `docs/format/wal.md`), so a segment that
//! was not closed cleanly ends in zeros. Every record frame holds a non-zero type byte,
//! so no record starts at or after the offset [`zero_tail_start`] returns, and readers
//! need not look for one there.

/// Bytes compared at a time; slice equality compiles to `memcmp`, which keeps finding
/// the end of a 64 MiB segment cheap even in unoptimized test builds.
const CHUNK: usize = 4096;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// The offset from which every byte of `bytes` is zero: just past the last non-zero
/// byte, `bytes.len()` if the last byte is not zero, 0 if all are zero.
pub fn zero_tail_start(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = bytes.get(start..end).unwrap_or_default();
        if chunk != ZEROS.get(..chunk.len()).unwrap_or_default() {
            let last = chunk.iter().rposition(|&b| b != 0).unwrap_or(0);
            return start + last + 1;
        }
        end = start;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_byte_after_the_last_non_zero_one() {
        assert_eq!(zero_tail_start(&[]), 0);
        assert_eq!(zero_tail_start(&[0; 10_000]), 0);
        assert_eq!(zero_tail_start(&[1, 0, 0]), 1);
        assert_eq!(zero_tail_start(&[0, 0, 7]), 3);
        for at in [0, 1, 4095, 4096, 4097, 8191, 9999] {
            let mut bytes = vec![0u8; 10_000];
            bytes[at] = 0x80;
            assert_eq!(zero_tail_start(&bytes), at + 1, "non-zero byte at {at}");
        }
    }
}
