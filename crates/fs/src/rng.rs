//! A tiny deterministic random number generator (SplitMix64), the one every crate's
//! simulations, tests and benchmarks share: crash states and workloads must be
//! reproducible from a seed, and pulling in a crate for this is not worth it.

/// SplitMix64: a seeded, deterministic stream of `u64`s, for simulations, tests and
/// benchmarks (the simulated file system's crash states come from one). Not for
/// cryptography.
///
/// # Examples
/// ```
/// use quickcache_fs::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64()); // the same seed, the same stream
/// assert!(a.below(10) < 10);
/// assert_eq!(a.below(0), 0);
/// assert!(a.below_by_multiply(10) < 10);
/// assert!(a.one_in(1));
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed` (any value, 0 included).
    #[inline]
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next number.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0), as the next number modulo `n`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `0..n` (0 when `n` is 0) by multiply-shift: the high 64 bits of
    /// the next number times `n`. No division, so cheaper than [`Rng::below`] in a
    /// benchmark's inner loop, but a different stream from the same seed.
    #[inline]
    pub fn below_by_multiply(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `1 / n` (always when `n` is 0 or 1).
    #[inline]
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}
