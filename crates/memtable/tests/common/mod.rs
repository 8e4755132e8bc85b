//! Helpers shared by the memtable's integration tests.

/// A small xorshift generator, so the tests need no dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A pseudo-random number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
