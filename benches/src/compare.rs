//! The comparison loop: rounds interleaved engine by engine, every workload per round,
//! and the reopen time of a loaded store.

use std::path::Path;

use quickcache_cli::bench::{Config, EngineFactory, EngineResult, Session, Workload, human_rate};

use crate::results::{Metric, Results};

/// Runs `rounds` rounds of `workloads` over `engines`, each in a fresh directory under
/// `base`, printing one line per measurement to stderr.
///
/// # Errors
/// The first engine error.
pub(crate) fn compare(
    engines: &[Box<dyn EngineFactory>],
    workloads: &[Workload],
    config: &Config,
    rounds: usize,
    base: &Path,
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
) -> EngineResult<()> {
    let name = engine.name();
    let mut session = Session::new(engine, dir, config.clone(), false);
    for (i, &w) in workloads.iter().enumerate() {
        let outcome = session.run(w)?;
        results.add(Metric::Rate(i), name, outcome.ops_per_sec());
        eprintln!(
            "round {round} {name:<10} {:<17} {:>8}/s  p99 {:>8} ns  {}",
            w.name(),
            human_rate(outcome.ops_per_sec()),
            outcome.latency.percentile(99.0),
            outcome.note
        );
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
    Ok(())
}
