//! The comparison loop: rounds interleaved engine by engine, every workload per round,
//! and the reopen time of a loaded store.

use std::path::Path;

use quickcache_cli::bench::{Config, EngineFactory, EngineResult, Session, Workload, human_rate};

use crate::results::{Metric, Results};
use crate::usage::{RssSampler, disk_bytes, snapshot_files};

/// Runs `rounds` rounds of `workloads` over `engines`, each in a fresh directory under
/// `base`, printing one line per measurement to stderr. With `snapshot`, each store's
/// files at the moment its disk is measured are listed and copied under it.
///
/// # Errors
/// The first engine error.
pub(crate) fn compare(
    engines: &[Box<dyn EngineFactory>],
    workloads: &[Workload],
    config: &Config,
    rounds: usize,
    base: &Path,
    snapshot: Option<&Path>,
) -> EngineResult<Results> {
    let mut results = Results::default();
    for round in 1..=rounds {
        for engine in engines {
            let dir = base.join(format!("{}-{round}", engine.name()));
            one_round(
                engine.as_ref(),
                workloads,
                config,
                &dir,
                round,
                &mut results,
                snapshot,
            )?;
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(results)
}

fn one_round(
    engine: &dyn EngineFactory,
    workloads: &[Workload],
    config: &Config,
    dir: &Path,
    round: usize,
    results: &mut Results,
    snapshot: Option<&Path>,
) -> EngineResult<()> {
    let name = engine.name();
    let rss = RssSampler::start();
    let mut session = Session::new(engine, dir, config.clone(), false);
    let mut disk = None;
    for (i, &w) in workloads.iter().enumerate() {
        let outcome = session.run(w)?;
        results.add(Metric::Rate(i), name, outcome.ops_per_sec());
        if w.is_transactional() {
            results.add(Metric::AbortPct(i), name, outcome.abort_percent());
        }
        eprintln!(
            "round {round} {name:<10} {:<17} {:>8}/s  p99 {:>8} ns  {}",
            w.name(),
            human_rate(outcome.ops_per_sec()),
            outcome.latency.percentile(99.0),
            outcome.note
        );
        // The store holds the keys after any workload that reads them or fills them
        // all; deleterandom empties it and the synced fills hold a thousandth of them.
        if (w.needs_data() || w.leaves_data()) && w != Workload::DeleteRandom {
            disk = Some(disk_bytes(dir)? as f64 / 1e6);
        }
        if let Some(to) = snapshot.filter(|_| w == Workload::ReadWhileWriting) {
            snapshot_files(dir, &to.join(format!("{name}-{round}")))?;
        }
        if w == Workload::ReadWhileWriting {
            let took = session.reopen()?;
            results.add(Metric::ReopenMs, name, took.as_secs_f64() * 1e3);
            eprintln!(
                "round {round} {name:<10} reopen            {:>8.1} ms",
                took.as_secs_f64() * 1e3
            );
        }
    }
    session.close();
    let (anon, file) = rss.finish();
    results.add(Metric::PeakAnonMb, name, anon);
    results.add(Metric::PeakFileMb, name, file);
    if let Some(mb) = disk {
        results.add(Metric::DiskMb, name, mb);
        eprintln!(
            "round {round} {name:<10} disk {mb:.1} MB, peak RSS anon {anon:.1} MB, mapped {file:.1} MB"
        );
    }
    Ok(())
}
