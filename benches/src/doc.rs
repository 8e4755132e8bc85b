//! Writing `docs/benchmarks.md`: settings, machine, command, the median table, where
//! quickcache is behind, and a link to the ratio chart.

use std::fmt::Write as _;

use quickcache::Compression;
use quickcache_cli::bench::{Workload, human_rate};

use crate::results::{Metric, Results};
use crate::svg::Row;

/// Everything the document reports besides the figures.
#[derive(Debug)]
pub(crate) struct Context {
    /// The exact command.
    pub(crate) command: String,
    /// Keys per store.
    pub(crate) num: u64,
    /// Rounds per engine.
    pub(crate) rounds: usize,
    /// The workloads, in order.
    pub(crate) workloads: Vec<Workload>,
    /// Engine names, quickcache first.
    pub(crate) engines: Vec<String>,
    /// Load average before and after.
    pub(crate) load: (String, String),
    /// Wall-clock minutes the comparison took.
    pub(crate) minutes: f64,
    /// The machine, as a Markdown list.
    pub(crate) machine: String,
    /// The per-workload time limit in seconds (0: none).
    pub(crate) max_seconds: f64,
    /// Table compression on every level of the engines that have it.
    pub(crate) compression: Compression,
    /// The random fraction of each value.
    pub(crate) compression_ratio: f64,
    /// The chart's file name, relative to the document.
    pub(crate) chart: String,
    /// Other reports beside this one (file names in the same directory), each from
    /// its own run of the crate, for example with another compression.
    pub(crate) others: Vec<String>,
}

const SETTINGS: &str = "\
Each engine runs on its defaults except durability and compression, which are aligned: no
fsync per write except in fillsync, and the run's `--compression` on every level of every engine
that has it (below).

| engine | plain writes | fillsync | reads |
|---|---|---|---|
| quickcache | `Db::open` defaults: `Durability::Os` (each write handed to the kernel before returning) | `WriteOptions::synced()` (fdatasync, group commit) | `get`, `range` iterators |
| fjall 3 | default keyspace; default journal mode (written to OS buffers, no fsync) | one-entry batch with `PersistMode::SyncData` | `get`, `range` |
| sled 0.34 | `sled::open` defaults (background flush every 500 ms) | `insert` then `flush()` | `get`, `range` |
| redb 4 | one write transaction per write, `Durability::None` (durable only with a later Immediate commit) | `Durability::Immediate` | one read transaction per get or scan |
| RocksDB (feature `rocksdb`) | `DB::open` with `DB::open_default`'s options and the run's compression type; default `WriteOptions` (WAL written, not synced) | `WriteOptions::set_sync(true)` | `get_pinned`, raw iterator |
| quickcache-none (opt-in) | as quickcache, with no compression on any level whatever the run's: in a compressed run, quickcache's uncompressed baseline (not counted as another engine) | as quickcache | as quickcache |
| fjall-otx (opt-in) | the fjall engine's, on an `OptimisticTxDatabase`; a transaction is `write_tx`, `get`, `insert`, `commit` (default durability), retried on `Conflict` | as fjall | as fjall |
| rocksdb-otx (opt-in) | the RocksDB engine's, on an `OptimisticTransactionDB`; a transaction reads with `get_for_update` (so its reads are validated), `put`, `commit` (default `WriteOptions`), retried on `Busy` or `TryAgain` | as RocksDB | as RocksDB |

Compression: quickcache (`Options::compression`, every level), fjall
(`data_block_compression_policy(CompressionPolicy::all(..))`; fjall 3 has only none and lz4, and
runs lz4 when zstd is asked) and RocksDB (`set_compression_type`; the `rocksdb` crate is built
with its `lz4` and `zstd` features) use the run's `--compression`. sled 0.34 (its zstd
`compression` feature, another C build, is not enabled here) and redb 4 (no compression) store
blocks as they are. quickcache without `--compression` would default to none on L0 and L1, lz4
below and zstd on the bottom level; the comparison sets every level alike on every engine.

Transactions (`txn_increment`, `txn_transfer`: four threads; quickcache, fjall-otx and
rocksdb-otx): each increment or transfer is one read-modify-write transaction, retried on
conflict until it commits; the rate counts commits, and the abort rows give the aborted attempts
in percent of all attempts.

Disk is the space allocated (blocks, so preallocated WAL space counts) under the store's
directory after the last workload that leaves it holding the keys (readwhilewriting in the
standard list), before the reopen. Peak RSS is sampled every 10 ms from `/proc/self/status`
while the engine's round runs (its untimed loads included), above what was resident when the
round began: all engines share one process, so what the harness and the allocator keep from
earlier rounds is left out.

Between workloads (untimed) every engine is made durable and its background flushes and
compactions are waited for, as db_bench's `waitforcompaction` does, so that a read workload
measures the store rather than the tail of the writes before it: quickcache `sync` then
`wait_for_compactions`; fjall `persist(SyncAll)`, then polling until no flush is queued and no
compaction runs for 100 ms (fjall has no waiting call); sled `flush`; redb an empty Immediate
commit; RocksDB `flush_wal(true)` then `wait_for_compact`. Fill workloads start from an empty
directory. Keys are 16-byte decimal numbers, values 100 bytes (see `--compression-ratio` above).
";

fn cell(results: &Results, metric: Metric, engine: &str) -> String {
    match (results.median(metric, engine), metric) {
        (None, _) => "-".into(),
        (Some(v), Metric::Rate(_)) => human_rate(v),
        (Some(v), Metric::AbortPct(_)) => format!("{v:.2}"),
        (Some(v), _) => format!("{v:.1}"),
    }
}

fn table(out: &mut String, results: &Results, ctx: &Context) {
    let me = ctx.engines.first().map_or("quickcache", String::as_str);
    let _ = writeln!(
        out,
        "| workload | {} | best other | quickcache ÷ best other |",
        ctx.engines.join(" | ")
    );
    let _ = writeln!(out, "|---|{}---|---|", "---:|".repeat(ctx.engines.len()));
    for metric in results.metrics() {
        let cells: Vec<String> = ctx
            .engines
            .iter()
            .map(|e| cell(results, metric, e))
            .collect();
        let best = results
            .best_other(metric, me, &ctx.engines)
            .map_or("-".into(), |(e, _)| e);
        let adv = results
            .advantage(metric, me, &ctx.engines)
            .map_or("-".into(), |a| format!("{a:.2}×"));
        let _ = writeln!(
            out,
            "| {} | {} | {best} | {adv} |",
            metric.label(&ctx.workloads),
            cells.join(" | ")
        );
    }
}

fn behind(out: &mut String, results: &Results, ctx: &Context) {
    let me = ctx.engines.first().map_or("quickcache", String::as_str);
    let mut any = false;
    for metric in results.metrics() {
        let (Some(adv), Some((best, _))) = (
            results.advantage(metric, me, &ctx.engines),
            results.best_other(metric, me, &ctx.engines),
        ) else {
            continue;
        };
        if adv < 1.0 {
            any = true;
            let _ = writeln!(
                out,
                "- **{}**: quickcache reaches {:.0} % of {best} ({best} is {:.2}× {}).",
                metric.label(&ctx.workloads),
                adv * 100.0,
                1.0 / adv,
                if metric.higher_is_better() {
                    "faster"
                } else {
                    "smaller"
                }
            );
        }
    }
    if !any {
        let _ = writeln!(out, "- nowhere: quickcache is first on every row.");
    }
}

/// The chart's rows: each other engine's figure relative to quickcache's.
pub(crate) fn chart_rows(results: &Results, ctx: &Context) -> Vec<Row> {
    let me = ctx.engines.first().map_or("quickcache", String::as_str);
    results
        .metrics()
        .into_iter()
        .filter(|metric| metric.ranked())
        .filter_map(|metric| {
            let mine = results.median(metric, me)?;
            let bars = ctx.engines.iter().skip(1).filter_map(|e| {
                let v = results.median(metric, e)?;
                Some((
                    e.clone(),
                    if metric.higher_is_better() {
                        v / mine
                    } else {
                        mine / v
                    },
                ))
            });
            Some(Row {
                label: metric.label(&ctx.workloads),
                bars: bars.collect(),
            })
        })
        .collect()
}

fn rounds(out: &mut String, results: &Results, ctx: &Context) {
    let _ = writeln!(out, "| workload | engine | every round |\n|---|---|---|");
    for metric in results.metrics() {
        for e in &ctx.engines {
            let figures: Vec<String> = results
                .rounds(metric, e)
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {e} | {} |",
                metric.label(&ctx.workloads),
                figures.join(", ")
            );
        }
    }
}

/// The whole document.
pub(crate) fn render(results: &Results, ctx: &Context) -> String {
    let mut out =
        String::from("# Benchmarks: quickcache against fjall, sled, redb (and RocksDB)\n\n");
    let _ = writeln!(
        out,
        "Generated by the `quickcache-benches` crate (`benches/`), which runs the same workload code as `quickcache bench` (`crates/cli/src/bench/`) over every engine. Everything down to \"Every round\" is generated (rerun the command to refresh it); profile notes, where present, follow it and are written by hand.\n"
    );
    let _ = writeln!(out, "## Command\n\n```sh\n{}\n```\n", ctx.command);
    let _ = writeln!(
        out,
        "{} keys; {} rounds, interleaved engine by engine (round 1: every engine, then round 2, ...); each figure is the median of the rounds. Operations per second (higher is better) except reopen: milliseconds to open a store holding the keys after the read workloads (lower is better). fillsync and fillsync4 do num/1000 synced puts, from 1 and 4 threads. Each workload stops after {} seconds (db_bench's `--duration`; 0 = no limit) so that a slow engine cannot hold the run for many minutes: its rate is then over the operations it did. The comparison took {:.1} minutes.\n",
        ctx.num, ctx.rounds, ctx.max_seconds, ctx.minutes
    );
    let _ = writeln!(
        out,
        "Compression `{}` on every level (see Settings); values of 100 bytes of which a fraction {} is random and the rest repeats it (`--compression-ratio`, db_bench's `compression_ratio`: 1.0 makes incompressible values, 0.5 values that compress about 2:1).\n",
        ctx.compression, ctx.compression_ratio
    );
    if !ctx.others.is_empty() {
        let links: Vec<String> = ctx.others.iter().map(|o| format!("[{o}]({o})")).collect();
        let _ = writeln!(
            out,
            "Other runs, each generated the same way by its own command: {}.\n",
            links.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "## Machine\n\n{}- load average (1, 5, 15 min) before: {}, after: {} (other work was running on this shared 2-core machine)\n",
        ctx.machine, ctx.load.0, ctx.load.1
    );
    let _ = writeln!(out, "## Results (medians)\n");
    table(&mut out, results, ctx);
    let _ = writeln!(out, "\n![ratios to quickcache]({})\n", ctx.chart);
    let _ = writeln!(out, "## Where quickcache is behind\n");
    behind(&mut out, results, ctx);
    let _ = writeln!(out, "\n## Settings\n\n{SETTINGS}");
    let _ = writeln!(out, "## Every round\n");
    rounds(&mut out, results, ctx);
    out
}

/// The sections of an earlier report that were written by hand (from the first `## `
/// heading that says "written by hand"), which a regeneration keeps after the
/// generated part: profile notes and separate runs would otherwise be lost each time.
pub(crate) fn hand_written(previous: &str) -> &str {
    let mut at = 0;
    for line in previous.split_inclusive('\n') {
        if line.starts_with("## ") && line.contains("written by hand") {
            return previous.get(at..).map_or("", |tail| tail);
        }
        at += line.len();
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regeneration_keeps_the_hand_written_sections() {
        let old = "# t\n## Every round\nx\n## Notes (written by hand)\nkeep\n## More\nalso\n";
        assert_eq!(
            hand_written(old),
            "## Notes (written by hand)\nkeep\n## More\nalso\n"
        );
        assert_eq!(hand_written("# t\n## Every round\n"), "");
    }
}
