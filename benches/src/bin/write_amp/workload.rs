//! The key/value stream of `crates/compaction/examples/fill.rs`, entry for entry:
//! the same xorshift generator and seed, keys `format!("{:016x}", r % total)`, values
//! of 100 bytes whose first 8 are the next random number (little-endian), the rest
//! zero; `total` = ten times the base-level target over 116 bytes per entry.

pub(crate) const KEY_LEN: usize = 16;
pub(crate) const VALUE_LEN: usize = 100;
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The stream's size and its key space.
#[derive(Debug)]
pub(crate) struct Workload {
    /// Puts, and also the number of possible keys.
    pub(crate) total: u64,
    distinct: u64,
}

/// Deliberately not `quickcache_fs::Rng`, the workspace's shared generator: this is
/// the xorshift stream of `crates/compaction/examples/fill.rs` (which must generate
/// the same workload, entry for entry), and the figures in
/// `docs/write-amplification.md` were measured on it. Switching changes the workload:
/// switch both and re-measure.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

impl Workload {
    pub(crate) fn new(base: u64) -> Workload {
        let total = 10 * base / (KEY_LEN + VALUE_LEN) as u64;
        let mut seen = vec![0u64; usize::try_from(total / 64 + 1).unwrap_or(0)];
        let mut distinct = 0;
        for (key, _) in Workload::stream_of(total) {
            let n = key_number(&key);
            let (word, bit) = ((n / 64) as usize, n % 64);
            if let Some(w) = seen.get_mut(word)
                && *w & (1 << bit) == 0
            {
                *w |= 1 << bit;
                distinct += 1;
            }
        }
        Workload { total, distinct }
    }

    fn stream_of(total: u64) -> impl Iterator<Item = ([u8; KEY_LEN], [u8; VALUE_LEN])> {
        let mut rng = SEED;
        (0..total).map(move |_| {
            let mut key = [0u8; KEY_LEN];
            let n = xorshift(&mut rng) % total;
            key.copy_from_slice(format!("{n:016x}").as_bytes());
            let mut value = [0u8; VALUE_LEN];
            value[..8].copy_from_slice(&xorshift(&mut rng).to_le_bytes());
            (key, value)
        })
    }

    /// The puts, in order.
    pub(crate) fn stream(&self) -> impl Iterator<Item = ([u8; KEY_LEN], [u8; VALUE_LEN])> {
        Workload::stream_of(self.total)
    }

    /// Key + value bytes of every put: the denominator of write amplification.
    pub(crate) fn user_bytes(&self) -> u64 {
        self.total * (KEY_LEN + VALUE_LEN) as u64
    }

    /// Keys written at least once.
    pub(crate) fn distinct(&self) -> u64 {
        self.distinct
    }

    /// Key + value bytes of the newest version of each key.
    pub(crate) fn logical_live_bytes(&self) -> u64 {
        self.distinct * (KEY_LEN + VALUE_LEN) as u64
    }
}

fn key_number(key: &[u8; KEY_LEN]) -> u64 {
    std::str::from_utf8(key)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .unwrap_or(0)
}
