//! Key and value generation: fixed-width decimal keys, a tiny fast RNG, and random values.
//!
//! Keys are the key number in decimal, zero-padded to the key size (db_bench's form),
//! so the numeric order is the byte order. A missing key is a present key's number
//! with its last byte replaced by `.`, which no generated key contains.

/// The benchmarks' generator: the workspace's one, SplitMix64 ([`quickcache::fs::Rng`];
/// `docs/design.md`, "Shared vocabulary"). One per thread, seeded by workload and
/// thread so runs are repeatable; key numbers are drawn with
/// [`Rng::below_by_multiply`], the stream the benchmarks always drew.
pub use quickcache::fs::Rng;

/// Writes key number `n` into `buf` (whose length is the key size), zero-padded
/// decimal, most significant digits dropped if it does not fit.
///
/// # Examples
/// ```
/// let mut key = [0u8; 16];
/// quickcache_cli::bench::write_key(&mut key, 42);
/// assert_eq!(&key, b"0000000000000042");
/// ```
#[inline]
pub fn write_key(buf: &mut [u8], mut n: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Writes the missing twin of key number `n`: never equal to any written key.
#[inline]
pub fn write_missing_key(buf: &mut [u8], n: u64) {
    write_key(buf, n);
    if let Some(last) = buf.last_mut() {
        *last = b'.';
    }
}

/// A source of values: a 1 MiB buffer from which each value is a slice at a
/// pseudo-random offset (no allocation per write). Random bytes (incompressible) by
/// default; see [`Values::compressible`].
#[derive(Debug)]
pub struct Values {
    data: Vec<u8>,
    size: usize,
    /// Values start at multiples of this: 1, or the piece size of compressible data
    /// (so that each value is one whole piece).
    align: usize,
}

impl Values {
    /// Values of `size` bytes.
    pub fn new(size: usize) -> Values {
        let len = (1 << 20).max(size * 2);
        let mut rng = Rng::new(0x5EED);
        let data = (0..len).map(|_| rng.next_u64() as u8).collect();
        Values {
            data,
            size,
            align: 1,
        }
    }

    /// Values of `size` bytes of which about a fraction `ratio` is random: the buffer is
    /// made of `size`-byte pieces, each a random run of `ratio * size` bytes repeated
    /// to fill it, as db_bench's `--compression_ratio` makes them. `ratio` is clamped
    /// to `0.01..=1.0`; 1.0 gives [`Values::new`].
    pub fn compressible(size: usize, ratio: f64) -> Values {
        let ratio = ratio.clamp(0.01, 1.0);
        let mut values = Values::new(size);
        if ratio >= 1.0 || size == 0 {
            return values;
        }
        let run = ((size as f64 * ratio).ceil() as usize).max(1);
        for piece in values.data.chunks_mut(size) {
            for i in run..piece.len() {
                piece[i] = piece[i % run];
            }
        }
        values.align = size;
        values
    }

    /// The value size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A value chosen by `seed`.
    #[inline]
    pub fn get(&self, seed: u64) -> &[u8] {
        let span = (self.data.len() - self.size) as u64;
        let start = (seed.wrapping_mul(0x9E37_79B9) % span.max(1)) as usize;
        let start = start - start % self.align;
        &self.data[start..start + self.size]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_numerically_and_missing_keys_never_collide() {
        let (mut a, mut b, mut m) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        write_key(&mut a, 9);
        write_key(&mut b, 10);
        assert!(a < b);
        write_missing_key(&mut m, 10);
        assert_ne!(m, b);
        assert_eq!(&m[..15], &b[..15]);
    }

    #[test]
    fn compressible_values_repeat_their_random_run() {
        let half = Values::compressible(100, 0.5);
        let distinct = |v: &[u8]| v.windows(8).collect::<std::collections::HashSet<_>>().len();
        for seed in 0..100 {
            let v = half.get(seed);
            assert_eq!(v.len(), 100);
            // Its second half repeats its first: 50 distinct 8-byte windows, not 93.
            assert_eq!(v[..50], v[50..], "seed {seed}");
            assert!(distinct(v) <= 50, "{}", distinct(v));
            assert!(distinct(Values::compressible(100, 1.0).get(seed)) > 85);
        }
    }

    #[test]
    fn below_stays_below() {
        let mut rng = Rng::new(1);
        assert!((0..10_000).all(|_| rng.below_by_multiply(7) < 7));
        assert_eq!(rng.below_by_multiply(0), 0);
        // The key stream from before the generator moved to quickcache-fs, pinned:
        // benchmark figures compare runs of the same keys.
        let mut rng = Rng::new(1);
        let keys: Vec<u64> = (0..4).map(|_| rng.below_by_multiply(1000)).collect();
        assert_eq!(keys, [566, 745, 971, 444]);
    }

    #[test]
    fn values_have_the_asked_size() {
        let values = Values::new(100);
        assert!((0..1000).all(|s| values.get(s).len() == 100));
        assert_ne!(values.get(1), values.get(2));
    }
}
