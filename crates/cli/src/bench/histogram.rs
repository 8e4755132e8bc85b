//! `Histogram`: a fixed-size log-linear latency histogram that never allocates while recording.
//!
//! Values (nanoseconds) below 64 get a bucket each; above, every power of two is split
//! into 32 equal sub-buckets, so a recorded value is off by at most 1/32 (3 %) of
//! itself. Recording is a leading-zero count, a shift and an add.

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Values below this are exact.
const LINEAR: u64 = 2 * SUB as u64;
/// Enough buckets for every u64.
const BUCKETS: usize = LINEAR as usize + (64 - SUB_BITS as usize - 1) * SUB;

/// Latency counts in log-linear buckets, mergeable across threads.
///
/// # Examples
/// ```
/// use quickcache_cli::bench::Histogram;
/// let mut h = Histogram::new();
/// for ns in 1..=1000 {
///     h.record(ns);
/// }
/// assert_eq!(h.count(), 1000);
/// let p50 = h.percentile(50.0);
/// assert!((480..=520).contains(&p50), "{p50}");
/// ```
#[derive(Clone)]
pub struct Histogram {
    buckets: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("mean", &self.mean())
            .field("max", &self.max)
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

/// The bucket holding `value`.
fn bucket_of(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let top = 63 - value.leading_zeros(); // >= SUB_BITS + 1
    let shift = top - SUB_BITS;
    let sub = ((value >> shift) as usize) & (SUB - 1);
    LINEAR as usize + (shift as usize - 1) * SUB + sub
}

/// The smallest value that falls into `bucket`.
fn bucket_low(bucket: usize) -> u64 {
    if bucket < LINEAR as usize {
        return bucket as u64;
    }
    let rel = bucket - LINEAR as usize;
    let shift = (rel / SUB + 1) as u32;
    let sub = (rel % SUB) as u64;
    (SUB as u64 + sub) << shift
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            buckets: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, value: u64) {
        self.record_n(value, 1);
    }

    /// Records `n` occurrences of `value` (a timed group of `n` operations).
    #[inline]
    pub fn record_n(&mut self, value: u64, n: u64) {
        let b = bucket_of(value);
        if let Some(slot) = self.buckets.get_mut(b) {
            *slot += n;
        }
        self.count += n;
        self.sum = self.sum.saturating_add(value.saturating_mul(n));
        self.max = self.max.max(value);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean value, 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum as f64 / self.count as f64
    }

    /// The largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value below which `p` percent of the recorded values fall (the middle of
    /// the bucket that holds it, capped by the maximum); 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        let wanted = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if n > 0 && seen >= wanted {
                let low = bucket_low(i);
                let high = bucket_low(i + 1).max(low + 1);
                return (low + (high - low) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut previous = 0;
        for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= previous, "bucket of {v} went back");
            assert!(b < BUCKETS);
            assert!(bucket_low(b) <= v, "{v} below its bucket {b}");
            if b + 1 < BUCKETS {
                assert!(bucket_low(b + 1) > v, "{v} above its bucket {b}");
            }
            previous = b;
        }
    }

    #[test]
    fn relative_error_is_under_four_percent() {
        let mut h = Histogram::new();
        h.record(1_000_000);
        let p = h.percentile(50.0) as f64;
        assert!((p - 1e6).abs() / 1e6 < 0.04, "{p}");
    }

    #[test]
    fn tail_percentiles_see_the_outliers() {
        let mut h = Histogram::new();
        h.record_n(100, 990);
        h.record_n(10_000, 10);
        assert!(h.percentile(50.0) < 110);
        assert!(h.percentile(99.9) > 9_000);
        assert_eq!(h.max(), 10_000);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(5);
        b.record(7);
        b.record(9);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.max(), 9);
        assert!((a.mean() - 7.0).abs() < 1e-9);
    }
}
