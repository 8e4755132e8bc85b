//! `BlockBuilder`: encodes sorted entries into one block (layout in `block.rs`).
//!
//! ```text
//! | entry 0 | ... | entry n - 1 | restart[0] u32 | ... | restart[r - 1] u32 | r u32 |
//! entry = shared varint32 | unshared varint32 | value len varint32 | key[shared..] | value
//! ```
//!
//! Buffers are kept across blocks, so after the first few blocks adding an entry does
//! not allocate.

use crate::wire::put_varint;

/// Builds one block at a time; `reset` starts the next, keeping the buffers.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    last_key: Vec<u8>,
    restart_interval: usize,
    since_restart: usize,
    entries: usize,
}

impl BlockBuilder {
    /// A builder that writes a restart point every `restart_interval` entries (>= 1).
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            last_key: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            entries: 0,
        }
    }

    /// Appends an entry. Requires: `key` (an encoded internal key) sorts after the
    /// previous one, and `key.len()` and `value.len()` fit in a `u32`.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.since_restart == self.restart_interval {
            self.restarts.push(self.buf.len() as u32);
            self.since_restart = 0;
            0
        } else {
            common_prefix(&self.last_key, key)
        };
        let unshared = &key[shared..];
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, unshared.len() as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(unshared);
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(unshared);
        self.since_restart += 1;
        self.entries += 1;
    }

    /// The size the block would have if finished now.
    pub(crate) fn estimated_size(&self) -> usize {
        self.buf.len() + self.restarts.len() * 4 + 4
    }

    /// Whether no entry was added since the last reset.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Appends the restart array and returns the finished contents. Call `reset` before
    /// adding more entries.
    pub(crate) fn finish(&mut self) -> &[u8] {
        if self.entries == 0 {
            // No entries, no restart points: a lone restart would point past the entries.
            self.restarts.clear();
        }
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        &self.buf
    }

    /// Starts a new, empty block, keeping the allocated buffers.
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.restarts.clear();
        self.restarts.push(0);
        self.last_key.clear();
        self.since_restart = 0;
        self.entries = 0;
    }
}

/// Length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_compression_and_restarts() {
        let mut b = BlockBuilder::new(2);
        b.add(b"apple", b"1");
        b.add(b"apricot", b"2");
        b.add(b"banana", b"3");
        let bytes = b.finish().to_vec();
        // entry 0: full key; entry 1 shares "ap"; entry 2 is a restart (shared 0).
        assert_eq!(&bytes[..3], &[0, 5, 1]);
        assert_eq!(&bytes[9..12], &[2, 5, 1]);
        assert_eq!(&bytes[18..21], &[0, 6, 1]);
        let n = bytes.len();
        assert_eq!(&bytes[n - 4..], &2u32.to_le_bytes());
        assert_eq!(&bytes[n - 8..n - 4], &18u32.to_le_bytes());
        b.reset();
        assert!(b.is_empty());
        assert_eq!(b.estimated_size(), 8);
    }
}
