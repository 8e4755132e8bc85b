//! Power loss on the simulated file system, at every I/O operation of a workload.
//!
//! For one seed: run the workload once to count its file-system operations, then for
//! each crash point `n` (all of them, or a random sample when there are too many) run
//! it again on a fresh disk whose operations fail from the `n`-th on (the process
//! "dies" there: nothing later reaches the disk), take the disk a power loss leaves
//! ([`SimFs::crash`]: unsynced bytes dropped or torn, unsynced names undone), reopen
//! it and check against the oracle kept outside the disk:
//!
//! - the database opens and `verify` finds no damage;
//! - its contents equal the model after some prefix of the issued operations (no hole,
//!   nothing invented, every batch whole);
//! - that prefix holds every operation acknowledged before the last acknowledged
//!   synced write or `sync`;
//! - forward scans, reverse scans and gets agree, and the database takes writes again;
//! - with `Shape::features_one_in`, the workload also commits transactions, takes
//!   checkpoints and ingests tables: every checkpoint that returned opens and holds
//!   the writes before its call, one the crash interrupted opens as that or not at all.

use std::path::Path;
use std::sync::Arc;

use quickcache::fs::{Fault, FaultPlan, SimFs};
use quickcache::{Db, Options};

use crate::check::{Violation, describe_difference, read_spread};
use crate::rng::Rng;
use crate::workload::{Model, Op, Shape, checkpoint_dir, generate, key};

/// The database directory on the simulated disk.
pub const DIR: &str = "/db";

/// How one seed is run.
#[derive(Debug, Clone, Copy)]
pub struct PowerConfig {
    /// Operations per workload.
    pub ops: usize,
    /// At most this many crash points per seed (a random sample beyond).
    pub max_points: usize,
    /// The workload's shape.
    pub shape: Shape,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            ops: 40,
            max_points: 12,
            shape: Shape::small(),
        }
    }
}

/// What one seed covered.
#[derive(Debug, Clone, Copy, Default)]
pub struct PowerStats {
    /// File-system operations of the fault-free run.
    pub fs_ops: u64,
    /// Crash states reopened and checked.
    pub crash_states: u64,
}

/// Small memtables and tables, so a few dozen writes reach flushes and compactions.
pub fn small_options(fs: &Arc<SimFs>) -> Options {
    Options {
        memtable_size: 2 << 10,
        max_frozen_memtables: 1,
        l0_compaction_trigger: 2,
        table_size: 4 << 10,
        base_level_size: 16 << 10,
        block_size: 512,
        flush_interval: None,
        wal_segment_size: 8 << 10,
        fs: Arc::clone(fs) as quickcache::fs::DynFs,
        ..Options::default()
    }
}

/// The oracle of one run: intents and acknowledgements, kept outside the disk.
#[derive(Debug, Default)]
struct Oracle {
    /// Operations issued (intent recorded), acknowledged or not.
    issued: usize,
    /// Every operation before this index is durable (acknowledged before a synced
    /// write or `sync` was acknowledged).
    durable: usize,
    /// Whether `Db::open` returned: before, the creation may be incomplete on disk.
    opened: bool,
    /// Operations acknowledged (returned success): the first `acked` of them.
    acked: usize,
}

/// Runs `ops` on `db` until one fails, keeping the oracle.
fn run_until_error(db: &Db, ops: &[Op], oracle: &mut Oracle) {
    for op in ops {
        // The table an ingest takes is written before its intent; a disk that died
        // before leaves the operation unissued.
        if op.prepare(db).is_err() {
            return;
        }
        oracle.issued += 1;
        if op.run_spread(db).is_err() {
            return;
        }
        oracle.acked = oracle.issued;
        if op.makes_durable() {
            oracle.durable = oracle.issued;
        }
    }
}

/// Runs the workload on a fresh disk that dies at operation `point` (never, for
/// `None`). Returns the disk and the oracle.
fn run(seed: u64, ops: &[Op], point: Option<u64>) -> (SimFs, Oracle) {
    let fs = SimFs::new(seed.wrapping_mul(31).wrapping_add(point.unwrap_or(0)));
    if let Some(n) = point {
        fs.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
    }
    let shared = Arc::new(fs.clone());
    let mut oracle = Oracle::default();
    if let Ok(db) = Db::open_with(DIR, small_options(&shared)) {
        oracle.opened = true;
        run_until_error(&db, ops, &mut oracle);
        // A clean close syncs the WAL: then everything is durable.
        if oracle.issued == ops.len() && db.close().is_ok() {
            oracle.durable = oracle.issued;
        }
    }
    (fs, oracle)
}

/// The crash points of a seed whose fault-free run took `total` operations.
fn points(seed: u64, total: u64, max: usize) -> Vec<u64> {
    if total <= max as u64 {
        return (0..=total).collect();
    }
    let mut rng = Rng::new(seed ^ 0xC4A5);
    let mut points: Vec<u64> = (0..max).map(|_| rng.below(total + 1)).collect();
    points.push(total);
    points.sort_unstable();
    points.dedup();
    points
}

/// Runs one seed through its crash points.
///
/// # Errors
/// The first crash state that breaks a guarantee, with the seed and crash point.
pub fn power_seed(seed: u64, cfg: &PowerConfig) -> Result<PowerStats, Violation> {
    let ops = generate(seed, &cfg.shape, cfg.ops);
    let (clean, oracle) = run(seed, &ops, None);
    if oracle.issued != ops.len() {
        return Err(format!(
            "seed {seed}: the fault-free run failed at operation {}",
            oracle.issued
        ));
    }
    let mut stats = PowerStats {
        fs_ops: clean.op_count(),
        crash_states: 0,
    };
    for point in points(seed, stats.fs_ops, cfg.max_points) {
        let (fs, oracle) = run(seed, &ops, Some(point));
        check_crash_state(&fs.crash(), &ops, &oracle, &cfg.shape).map_err(|e| {
            if std::env::var_os("QUICKCACHE_DEBUG_OPS").is_some() {
                for (i, op) in ops.iter().enumerate().take(oracle.issued) {
                    eprintln!("{i}: {}", op.to_line());
                }
            }
            format!("seed {seed}, crash at fs op {point}: {e}")
        })?;
        stats.crash_states += 1;
    }
    Ok(stats)
}

/// Reopens a crashed disk and checks it against the oracle.
fn check_crash_state(
    after: &SimFs,
    ops: &[Op],
    oracle: &Oracle,
    shape: &Shape,
) -> Result<(), Violation> {
    let fs = Arc::new(after.clone());
    // Before the first open returned, the database may not exist yet: nothing to verify.
    if oracle.opened {
        let report = quickcache::verify_with(DIR, fs.clone() as quickcache::fs::DynFs)
            .map_err(|e| format!("verify could not run: {e}"))?;
        if !report.is_ok() {
            return Err(format!("verify found damage: {:?}", report.damaged));
        }
    }
    let db = Db::open_with(DIR, small_options(&fs))
        .map_err(|e| format!("reopen after the power loss failed: {e}"))?;
    let keys: Vec<Vec<u8>> = (0..shape.keys).map(key).collect();
    let recovered = read_spread(&db, &keys)?;
    matching_prefix(&recovered, ops, oracle)?;
    check_checkpoints(&fs, ops, oracle, &keys)?;
    db.put("after-crash", "x")
        .map_err(|e| format!("the recovered database refuses writes: {e}"))?;
    db.close()
        .map_err(|e| format!("closing the recovered database: {e}"))?;
    let db =
        Db::open_with(DIR, small_options(&fs)).map_err(|e| format!("second reopen failed: {e}"))?;
    match db.get("after-crash") {
        Ok(Some(v)) if v == b"x" => Ok(()),
        other => Err(format!("a write after recovery was lost: {other:?}")),
    }
}

/// Every checkpoint that returned before the power loss opens and holds exactly the
/// writes before its call (it synced all it wrote); the one the crash interrupted
/// opens as that too, or not at all (`is_no_database`), never as a damaged database.
fn check_checkpoints(
    fs: &Arc<SimFs>,
    ops: &[Op],
    oracle: &Oracle,
    keys: &[Vec<u8>],
) -> Result<(), Violation> {
    let mut model = Model::new();
    for (j, op) in ops.iter().enumerate().take(oracle.issued) {
        if let Op::Checkpoint { id } = op {
            let at = |e: String| format!("checkpoint {id} (op {j}): {e}");
            let options = Options {
                create_if_missing: false,
                ..small_options(fs)
            };
            match Db::open_with(checkpoint_dir(Path::new(DIR), *id), options) {
                Ok(copy) => {
                    let got = read_spread(&copy, keys).map_err(at)?;
                    if got != model {
                        let diff = describe_difference(&model, &got);
                        return Err(at(format!("the copy is not the state at its call: {diff}")));
                    }
                }
                Err(e) if j >= oracle.acked && e.is_no_database() => {}
                Err(e) => return Err(at(format!("the copy does not open: {e}"))),
            }
        }
        op.apply(&mut model);
    }
    Ok(())
}

/// Finds the prefix of `ops` whose model equals `recovered`, among those holding
/// every durable operation and no more than the issued ones.
fn matching_prefix(recovered: &Model, ops: &[Op], oracle: &Oracle) -> Result<usize, Violation> {
    let mut model = Model::new();
    let mut closest = (usize::MAX, String::new());
    for (n, op) in std::iter::once(None)
        .chain(ops.iter().map(Some))
        .enumerate()
        .take(oracle.issued + 1)
    {
        if let Some(op) = op {
            op.apply(&mut model);
        }
        if n < oracle.durable {
            continue;
        }
        if &model == recovered {
            return Ok(n);
        }
        let diff = describe_difference(&model, recovered);
        if n == oracle.durable || closest.0 == usize::MAX {
            closest = (n, diff);
        }
    }
    Err(format!(
        "the recovered state is no prefix of operations {}..={} (issued {}, durable {}); \
         against prefix {}: {}",
        oracle.durable, oracle.issued, oracle.issued, oracle.durable, closest.0, closest.1
    ))
}
