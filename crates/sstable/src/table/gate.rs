//! `CompressionGate`: stops a table builder from compressing blocks that will not
//! shrink.
//!
//! A block is stored compressed only if that saves an eighth of it. Data that does
//! not compress (random bytes, values the application compressed itself) is then
//! compressed for nothing, block after block: with zstd on the bottom level that was
//! about 45% of a bulk load's CPU time. The gate remembers how the last
//! [`WINDOW`] attempts went; once at least [`SKIP_AT`] of them were rejected it lets
//! only one block in [`PROBE_EVERY`] try; a probe that shrinks clears the window, so
//! data which becomes compressible is compressed again within that many blocks. (RocksDB's "auto skip" compression manager
//! predicts rejections from a moving window in the same spirit.)
//!
//! Skipping changes only how a block is stored, never what it holds: a reader sees the
//! same entries whichever way a block was written.

/// How many recent attempts the gate remembers.
pub(crate) const WINDOW: u32 = 16;
/// Rejections among the last [`WINDOW`] attempts from which the gate skips.
pub(crate) const SKIP_AT: u32 = 15;
/// While skipping, one block in this many still tries, to notice a change.
pub(crate) const PROBE_EVERY: u32 = 16;

/// Whether the next block should try to compress; see the module docs.
#[derive(Debug, Default, Clone)]
pub(crate) struct CompressionGate {
    /// One bit per recent attempt, newest lowest: 1 = rejected (did not shrink).
    rejected: u16,
    /// Attempts recorded, up to [`WINDOW`].
    attempts: u32,
    /// Blocks skipped since the last attempt.
    skipped: u32,
}

impl CompressionGate {
    /// Whether the next block should be compressed (and the outcome recorded with
    /// [`CompressionGate::record`]); `false` counts the block as skipped.
    pub(crate) fn should_try(&mut self) -> bool {
        if self.skipping() && self.skipped + 1 < PROBE_EVERY {
            self.skipped += 1;
            return false;
        }
        self.skipped = 0;
        true
    }

    /// Records whether an attempt was stored compressed.
    pub(crate) fn record(&mut self, compressed: bool) {
        if compressed && self.skipping() {
            // The data changed: try every block again until the window says otherwise.
            (self.rejected, self.attempts, self.skipped) = (0, 0, 0);
            return;
        }
        self.rejected = (self.rejected << 1) | u16::from(!compressed);
        self.attempts = (self.attempts + 1).min(WINDOW);
    }

    fn skipping(&self) -> bool {
        self.attempts >= WINDOW && self.rejected.count_ones() >= SKIP_AT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `blocks` blocks whose compression succeeds per `shrinks`; the blocks
    /// that tried.
    fn run(gate: &mut CompressionGate, blocks: usize, shrinks: impl Fn(usize) -> bool) -> usize {
        let mut tried = 0;
        for i in 0..blocks {
            if gate.should_try() {
                tried += 1;
                gate.record(shrinks(i));
            }
        }
        tried
    }

    #[test]
    fn the_builder_asks_the_gate_before_compressing() {
        use crate::{Compression, TableBuilder, TableOptions};
        use quickcache_fs::{FileSystem, SimFs};
        use std::path::Path;

        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/t")).unwrap();
        let options = TableOptions {
            compression: Compression::Zstd,
            ..TableOptions::default()
        };
        let mut builder = TableBuilder::new(&fs, Path::new("/t/a.sst"), options).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut random_byte = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        };
        for i in 0..20_000u32 {
            let value: Vec<u8> = (0..100).map(|_| random_byte()).collect();
            builder.add_plain(&i.to_be_bytes(), &value).unwrap();
        }
        let (blocks, tries) = builder.blocks_and_tries();
        assert!(blocks > 400, "only {blocks} blocks");
        assert!(
            tries < blocks / 8,
            "{tries} compression attempts for {blocks} random blocks"
        );
    }

    #[test]
    fn compressible_data_always_tries() {
        let mut gate = CompressionGate::default();
        assert_eq!(run(&mut gate, 1000, |_| true), 1000);
    }

    #[test]
    fn data_that_mostly_shrinks_always_tries() {
        // Two rejections in every sixteen never reach SKIP_AT.
        let mut gate = CompressionGate::default();
        assert_eq!(run(&mut gate, 1000, |i| i % 8 != 0), 1000);
    }

    #[test]
    fn incompressible_data_tries_one_block_in_probe_every() {
        let mut gate = CompressionGate::default();
        let tried = run(&mut gate, 16_000, |_| false);
        // The first WINDOW blocks fill the window, then one in PROBE_EVERY tries.
        let expected = WINDOW as usize + (16_000 - WINDOW as usize) / PROBE_EVERY as usize;
        assert!(
            tried.abs_diff(expected) <= 1,
            "tried {tried}, expected about {expected}"
        );
    }

    #[test]
    fn data_that_becomes_compressible_is_noticed_within_a_probe() {
        let mut gate = CompressionGate::default();
        run(&mut gate, 1000, |_| false);
        // From now on every block shrinks: the next probe sees it, and from then on
        // every block tries again.
        let mut first_try = None;
        for i in 0..200 {
            if gate.should_try() {
                gate.record(true);
                first_try.get_or_insert(i);
            } else {
                assert!(
                    first_try.is_none(),
                    "skipped block {i} after a probe shrank"
                );
            }
        }
        let at = first_try.expect("the gate never tried again");
        assert!(at < PROBE_EVERY as usize, "first try only at block {at}");
    }
}
