//! Presenting outcomes: the results table for people and JSON lines for scripts.

use std::fmt::Write as _;

use super::run::Outcome;

/// Formats a rate with a k/M suffix (`588k`, `14.0M`).
///
/// # Examples
/// ```
/// assert_eq!(quickcache_cli::bench::human_rate(588_123.0), "588k");
/// assert_eq!(quickcache_cli::bench::human_rate(14_020_000.0), "14.0M");
/// assert_eq!(quickcache_cli::bench::human_rate(950.0), "950");
/// ```
pub fn human_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.1}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.0}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

/// Formats nanoseconds as microseconds with sensible precision.
fn micros(ns: u64) -> String {
    let us = ns as f64 / 1e3;
    if us < 10.0 {
        format!("{us:.2}")
    } else if us < 1000.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

/// The results table: one row per outcome.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<17} {:>3} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}  note",
        "workload", "thr", "ops", "ops/s", "µs/op", "p50 µs", "p99 µs", "p99.9 µs", "MB/s"
    );
    for o in outcomes {
        let h = &o.latency;
        let _ = writeln!(
            out,
            "{:<17} {:>3} {:>9} {:>10} {:>9.3} {:>9} {:>9} {:>9} {:>8.1}  {}",
            o.workload.name(),
            o.threads,
            o.ops,
            human_rate(o.ops_per_sec()),
            o.micros_per_op(),
            micros(h.percentile(50.0)),
            micros(h.percentile(99.0)),
            micros(h.percentile(99.9)),
            o.mb_per_sec(),
            o.note,
        );
    }
    out
}

/// One outcome as a JSON object on one line (times in nanoseconds).
///
/// # Examples
/// ```
/// use quickcache_cli::bench::{Histogram, Outcome, Workload, json};
/// let mut latency = Histogram::new();
/// latency.record(1500);
/// let o = Outcome {
///     workload: Workload::ReadRandom,
///     threads: 1,
///     ops: 1,
///     elapsed: std::time::Duration::from_micros(2),
///     bytes: 116,
///     found: 1,
///     aborts: 0,
///     latency,
///     note: String::new(),
/// };
/// let line = json(&o);
/// assert!(line.starts_with(r#"{"workload":"readrandom","threads":1,"ops":1,"#), "{line}");
/// ```
pub fn json(o: &Outcome) -> String {
    let h = &o.latency;
    format!(
        concat!(
            r#"{{"workload":"{}","threads":{},"ops":{},"elapsed_ns":{},"ops_per_sec":{:.1},"#,
            r#""us_per_op":{:.4},"p50_ns":{},"p99_ns":{},"p999_ns":{},"max_ns":{},"#,
            r#""mb_per_sec":{:.3},"bytes":{},"found":{},"note":{}}}"#
        ),
        o.workload.name(),
        o.threads,
        o.ops,
        o.elapsed.as_nanos(),
        o.ops_per_sec(),
        o.micros_per_op(),
        h.percentile(50.0),
        h.percentile(99.0),
        h.percentile(99.9),
        h.max(),
        o.mb_per_sec(),
        o.bytes,
        o.found,
        crate::json::string(&o.note),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_keep_three_significant_digits() {
        assert_eq!(micros(1_234), "1.23");
        assert_eq!(micros(12_345), "12.3");
        assert_eq!(micros(1_234_567), "1235");
    }
}
