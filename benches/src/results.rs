//! `Results`: every round's figure per engine and workload, reduced to medians.

use std::collections::BTreeMap;

use quickcache_cli::bench::Workload;

/// What a row of the comparison measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Metric {
    /// A workload's operations per second (higher is better).
    Rate(usize),
    /// A transactional workload's aborted attempts, in percent of all attempts
    /// (lower is better; shown, not ranked: fewer aborts are not a goal in themselves).
    AbortPct(usize),
    /// Milliseconds to open a store holding `num` keys (lower is better).
    ReopenMs,
    /// MB (10^6 bytes) allocated on disk for the store after the last workload that
    /// leaves it holding the keys, deleterandom aside (lower is better).
    DiskMb,
    /// Peak anonymous resident memory above the round's start, in MB (lower is better).
    PeakAnonMb,
    /// Peak file-backed (mapped) resident memory above the round's start, in MB
    /// (shown, not ranked: mapped pages are the OS's cache, evicted under pressure).
    PeakFileMb,
}

impl Metric {
    /// The row's label.
    pub(crate) fn label(self, workloads: &[Workload]) -> String {
        match self {
            Metric::Rate(i) => workloads
                .get(i)
                .map_or_else(String::new, |w| w.name().to_string()),
            Metric::AbortPct(i) => workloads
                .get(i)
                .map_or_else(String::new, |w| format!("{} aborts (%)", w.name())),
            Metric::ReopenMs => "reopen (ms)".to_string(),
            Metric::DiskMb => "disk (MB)".to_string(),
            Metric::PeakAnonMb => "peak anon RSS (MB)".to_string(),
            Metric::PeakFileMb => "peak mapped RSS (MB)".to_string(),
        }
    }

    /// Whether a higher figure is better.
    pub(crate) fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rate(_))
    }

    /// Whether engines are ranked on this metric (best other, ratio, chart).
    pub(crate) fn ranked(self) -> bool {
        !matches!(self, Metric::AbortPct(_) | Metric::PeakFileMb)
    }
}

/// All figures of a comparison run.
#[derive(Debug, Default)]
pub(crate) struct Results {
    figures: BTreeMap<(Metric, String), Vec<f64>>,
}

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

impl Results {
    /// Adds one round's figure.
    pub(crate) fn add(&mut self, metric: Metric, engine: &str, value: f64) {
        self.figures
            .entry((metric, engine.to_string()))
            .or_default()
            .push(value);
    }

    /// The median over the rounds.
    pub(crate) fn median(&self, metric: Metric, engine: &str) -> Option<f64> {
        self.figures
            .get(&(metric, engine.to_string()))
            .and_then(|v| median(v))
    }

    /// Every round's figure.
    pub(crate) fn rounds(&self, metric: Metric, engine: &str) -> &[f64] {
        self.figures
            .get(&(metric, engine.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The metrics measured, in order.
    pub(crate) fn metrics(&self) -> Vec<Metric> {
        let mut m: Vec<Metric> = self.figures.keys().map(|(m, _)| *m).collect();
        m.dedup();
        m
    }

    /// The best median among `engines` other than `me` and its variants (`me-...`,
    /// such as quickcache-none: quickcache measured against itself), with its engine.
    pub(crate) fn best_other(
        &self,
        metric: Metric,
        me: &str,
        engines: &[String],
    ) -> Option<(String, f64)> {
        if !metric.ranked() {
            return None;
        }
        let better = |a: f64, b: f64| {
            if metric.higher_is_better() {
                a > b
            } else {
                a < b
            }
        };
        let variant = format!("{me}-");
        let mut best: Option<(String, f64)> = None;
        for e in engines
            .iter()
            .filter(|e| e.as_str() != me && !e.starts_with(&variant))
        {
            if let Some(v) = self.median(metric, e)
                && best.as_ref().is_none_or(|(_, b)| better(v, *b))
            {
                best = Some((e.clone(), v));
            }
        }
        best
    }

    /// How many times better `me` is than the best other (above 1: ahead).
    pub(crate) fn advantage(&self, metric: Metric, me: &str, engines: &[String]) -> Option<f64> {
        if !metric.ranked() {
            return None;
        }
        let mine = self.median(metric, me)?;
        let (_, best) = self.best_other(metric, me, engines)?;
        Some(if metric.higher_is_better() {
            mine / best
        } else {
            best / mine
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn advantage_respects_the_direction_of_better() {
        let mut r = Results::default();
        let engines = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        r.add(Metric::Rate(0), "a", 200.0);
        r.add(Metric::Rate(0), "b", 100.0);
        r.add(Metric::Rate(0), "c", 50.0);
        r.add(Metric::ReopenMs, "a", 10.0);
        r.add(Metric::ReopenMs, "b", 5.0);
        assert_eq!(r.advantage(Metric::Rate(0), "a", &engines), Some(2.0));
        assert_eq!(r.advantage(Metric::ReopenMs, "a", &engines), Some(0.5));
        assert_eq!(
            r.best_other(Metric::Rate(0), "a", &engines),
            Some(("b".into(), 100.0))
        );
    }
}
