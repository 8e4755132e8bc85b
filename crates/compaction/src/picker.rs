//! The compaction picker: a pure function from a version to the next compaction, if
//! one is due. No I/O; [`crate::executor`] carries the plan out.
//!
//! - L0 is scored by table count against [`CompactionOptions::l0_compaction_trigger`] and by
//!   bytes against the base level, and waits for a bigger batch while it holds less
//!   than [`L0_BATCH`] times the base level; deeper levels by size against the
//!   [`LevelTargets`] derived from the largest level, counting the bytes queued above
//!   them (see [`scores`]).
//! - The level with the highest score of at least 1 is compacted.
//! - L0 is compacted into the base level (or a level above it that still holds
//!   data): starting from its oldest table, every L0
//!   table overlapping the growing key range is taken in (so no older L0 entry for
//!   those keys stays behind), plus the overlapping base-level tables.
//! - A deeper level gives one table, the one that overlaps the fewest bytes of the
//!   level below per byte of its own (ties: the first after the level's compaction
//!   pointer, wrapping around), plus the overlapping tables of the level below.
//! - A single input that overlaps nothing below moves down without being rewritten.

use std::collections::HashSet;
use std::sync::Arc;

use quickcache_sstable::{InternalKey, KeyspaceId};

use crate::{CompactionOptions, Level, LevelTargets, TableHandle, TableId, Version};

/// One compaction to run: inputs, where the output goes, and what the executor needs
/// to cut outputs and to drop tombstones.
#[derive(Debug, Clone)]
pub struct CompactionPlan {
    /// The level compacted out of.
    pub level: Level,
    /// The level the output joins.
    pub output_level: Level,
    /// Tables of `level` (for L0 newest first).
    pub inputs: Vec<Arc<TableHandle>>,
    /// Overlapping tables of `output_level`.
    pub next_inputs: Vec<Arc<TableHandle>>,
    /// Overlapping tables of the level below `output_level`, by key: outputs are cut
    /// before they overlap too many bytes of them.
    pub grandparents: Vec<Arc<TableHandle>>,
    /// Per level below `output_level`, the tables overlapping the compacted range (by
    /// key): a tombstone may be dropped only if none of them may hold its key.
    pub below: Vec<Vec<Arc<TableHandle>>>,
    /// Whether to move the single input down instead of rewriting it: never into a
    /// level whose [`CompactionOptions::compression`] differs from the input's.
    pub trivial_move: bool,
    /// The new compaction pointer of `level`.
    pub pointer: Option<InternalKey>,
    /// The score that made this compaction due.
    pub score: f64,
    /// The keyspace whose tree the plan compacts: [`crate::pick`] plans for the tree
    /// it is given, and the caller that knows which keyspace that is sets it
    /// ([`crate::VersionSet::pick_any`] does). The default keyspace unless set.
    pub keyspace: KeyspaceId,
}

impl CompactionPlan {
    /// Every input table, `level`'s first.
    pub fn all_inputs(&self) -> impl Iterator<Item = &Arc<TableHandle>> {
        self.inputs.iter().chain(&self.next_inputs)
    }

    /// Total bytes of the input tables.
    pub fn input_bytes(&self) -> u64 {
        self.all_inputs().map(|t| t.info().size).sum()
    }

    /// The user-key range `[lo, hi]` the inputs span.
    pub fn user_range(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        user_range(self.all_inputs())
    }

    /// A manual compaction of `inputs` (tables of `level`) into `output_level`, shaped
    /// as the picker shapes its plans (the overlapping tables of `output_level`, the
    /// grandparents, the deeper overlaps for tombstones), never a trivial move. With
    /// `output_level == level` the inputs are rewritten in place; `None` without
    /// inputs.
    pub fn manual(
        version: &Version,
        level: Level,
        output_level: Level,
        inputs: Vec<Arc<TableHandle>>,
        options: &CompactionOptions,
    ) -> Option<CompactionPlan> {
        if inputs.is_empty() {
            return None;
        }
        let inputs = Inputs {
            level,
            output_level,
            tables: inputs,
        };
        let mut plan = finish(version, inputs, 0.0, None, options);
        if level == output_level {
            // The overlapping tables of the output level are the inputs themselves.
            plan.next_inputs.clear();
        }
        plan.trivial_move = false;
        Some(plan)
    }
}

/// Tables already being compacted; a plan never takes one of them or writes into a
/// key range another running compaction writes into.
#[derive(Debug, Clone, Default)]
pub struct Busy {
    /// Tables that are inputs of running compactions.
    pub tables: HashSet<TableId>,
    /// Output level and user-key range of running compactions.
    pub outputs: Vec<(Level, Vec<u8>, Vec<u8>)>,
}

impl Busy {
    pub(crate) fn conflicts(&self, plan: &CompactionPlan) -> bool {
        if plan
            .all_inputs()
            .any(|t| self.tables.contains(&t.info().id))
        {
            return true;
        }
        let Some((lo, hi)) = plan.user_range() else {
            return false;
        };
        self.outputs.iter().any(|(l, a, b)| {
            *l == plan.output_level
                && a.as_slice() <= hi.as_slice()
                && lo.as_slice() <= b.as_slice()
        })
    }
}

/// The smallest and largest user keys of `tables`.
fn user_range<'a>(
    tables: impl Iterator<Item = &'a Arc<TableHandle>>,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut range: Option<(&[u8], &[u8])> = None;
    for t in tables {
        let (lo, hi) = (t.info().smallest_user(), t.info().largest_user());
        range = Some(match range {
            None => (lo, hi),
            Some((a, b)) => (a.min(lo), b.max(hi)),
        });
    }
    range.map(|(a, b)| (a.to_vec(), b.to_vec()))
}

/// The L0 batch, as a multiple of the base level's bytes, below which L0 waits for
/// up to [`CompactionOptions::l0_batch_extra`] tables past the trigger. An L0
/// compaction rewrites the whole base level (random keys overlap all of it), so each
/// one should bring at least this many new bytes per base-level byte rewritten.
///
/// Measured with `write_amp` (1.0 = no wait; both 1.25 and 1.5 were tried, 1.25
/// kept because it waits for fewer tables): unpaced 32 MiB memtables write
/// amplification 3.845 → 3.453, 48 MiB 3.782 → 3.483, paced 8 MiB flushes 4.997 →
/// 4.296; the 64 and 100 MiB and paced 64 MiB runs do not wait and are unchanged.
pub const L0_BATCH: f64 = 1.25;

/// How much a due score counts over a score below 1 (RocksDB's `kScoreScale`):
/// a level over its target is due at a score of at least 1 only after the bytes
/// queued above it are taken into account, see [`scores`].
const SCALE: f64 = 10.0;

/// The score of every level: compaction is due where it is at least 1. As RocksDB's
/// dynamic level bytes does (`ComputeCompactionScore`):
///
/// - L0 scores its table count against the trigger, and at least 1.01 once its bytes
///   reach `base_level_size`; once they pass the base level's target, at least its
///   bytes over the base level's (so L0 goes down when it outgrows the base level).
///   A due score is scaled by 10 (`SCALE`).
/// - A deeper level under its target scores size / target. Over it, it scores
///   size / (target + bytes queued above it) × 10, where the queue is L0's
///   bytes plus every higher level's excess. So the base level is not drained into
///   the bottom while L0 holds data about to land in it: each such drain would
///   rewrite the bottom for fewer new keys.
///
/// Measured with `write_amp` (docs/write-amplification.md): unpaced with 64 MiB
/// memtables, write amplification 3.209 → 3.197; paced, 64 MiB flushes no longer sit
/// in L0 below the count trigger (space amplification 1.200 → 1.082).
pub fn scores(version: &Version, options: &CompactionOptions) -> Vec<(Level, f64)> {
    let targets = LevelTargets::of(version, options);
    let l0_bytes = version.level_size(Level::L0);
    let mut l0 = version.l0_count() as f64 / options.l0_compaction_trigger.max(1) as f64;
    if l0_bytes >= options.base_level_size {
        l0 = l0.max(1.01);
    }
    let base_target = targets.target(targets.base);
    if l0_bytes > base_target {
        let base_size = version.level_size(targets.base).max(base_target).max(1);
        l0 = l0.max(l0_bytes as f64 / base_size as f64);
    }
    // Below L0_BATCH times the base level's bytes, L0 waits for up to
    // `l0_batch_extra` more tables, whatever the rules above say. Not while L0 goes
    // straight to the bottom: the tree is then smaller than `base_level_size`, and
    // the waiting tables are most of what it holds on disk beyond its data.
    let base_bytes = version.level_size(targets.base) as f64;
    if targets.base != Level::BOTTOM
        && (l0_bytes as f64) < base_bytes * L0_BATCH
        && version.l0_count() < options.l0_compaction_trigger + options.l0_batch_extra
    {
        l0 = l0.min(0.99);
    }
    // RocksDB scales only above 1, so at exactly the trigger an over-target base
    // level goes first; scaling every due score keeps the rule above without that
    // edge.
    if l0 >= 1.0 {
        l0 *= SCALE;
    }
    let mut out = vec![(Level::L0, l0)];
    let mut queued = l0_bytes;
    for level in Level::all().skip(1).filter(|&l| l != Level::BOTTOM) {
        let size = version.level_size(level);
        let score = match targets.target(level) {
            // Data above the base level (left after the tree shrank) goes down first.
            0 if size > 0 => {
                queued = queued.saturating_add(size);
                f64::MAX
            }
            0 => 0.0,
            target if size < target => size as f64 / target as f64,
            target => {
                let queue = target.saturating_add(queued);
                queued = queued.saturating_add(size - target);
                size as f64 / queue as f64 * SCALE
            }
        };
        out.push((level, score));
    }
    out
}

/// The next compaction for `version`, or `None` if no level is over its target (or
/// every due compaction conflicts with a running one).
pub fn pick(version: &Version, options: &CompactionOptions, busy: &Busy) -> Option<CompactionPlan> {
    let targets = LevelTargets::of(version, options);
    let mut due: Vec<(Level, f64)> = scores(version, options)
        .into_iter()
        .filter(|&(_, s)| s >= 1.0)
        .collect();
    due.sort_by(|a, b| b.1.total_cmp(&a.1));
    due.into_iter().find_map(|(level, score)| {
        if level == Level::L0 {
            let plan = plan_l0(version, l0_output(version, targets.base), score, options)?;
            (!busy.conflicts(&plan)).then_some(plan)
        } else {
            plan_level(version, level, score, options, busy)
        }
    })
}

/// Where L0 goes: the base level, unless a level above it still holds data (left
/// after the tree shrank, and not yet pushed down because a second compaction
/// thread holds its tables). L0's entries are newer than any level's, so they must
/// never land below a level that may hold the same keys.
/// Manual compactions must follow the same rule.
pub fn l0_output(version: &Version, base: Level) -> Level {
    Level::all()
        .skip(1)
        .take_while(|l| l.index() < base.index())
        .find(|&l| version.level_size(l) > 0)
        .unwrap_or(base)
}

fn plan_l0(
    version: &Version,
    base: Level,
    score: f64,
    options: &CompactionOptions,
) -> Option<CompactionPlan> {
    let l0 = version.level(Level::L0);
    let oldest = l0.last()?;
    let (mut lo, mut hi) = (
        oldest.info().smallest_user().to_vec(),
        oldest.info().largest_user().to_vec(),
    );
    // Grow the range until it takes in every L0 table it overlaps.
    loop {
        let taken = version.overlapping(Level::L0, &lo, &hi);
        let (new_lo, new_hi) = user_range(taken.iter())?;
        if new_lo == lo && new_hi == hi {
            let inputs = Inputs {
                level: Level::L0,
                output_level: base,
                tables: taken,
            };
            return Some(finish(version, inputs, score, None, options));
        }
        (lo, hi) = (new_lo, new_hi);
    }
}

fn plan_level(
    version: &Version,
    level: Level,
    score: f64,
    options: &CompactionOptions,
    busy: &Busy,
) -> Option<CompactionPlan> {
    let output = level.below()?;
    let tables = version.level(level);
    // Rotation from the compaction pointer breaks ties, so equal candidates take
    // turns instead of the first one always going.
    let start = match version.compaction_pointer(level) {
        Some(p) => tables.partition_point(|t| t.info().largest <= *p),
        None => 0,
    };
    let mut candidates: Vec<(f64, usize, &Arc<TableHandle>)> = tables
        .iter()
        .enumerate()
        .filter(|(_, t)| !busy.tables.contains(&t.info().id))
        .map(|(i, t)| {
            let rotated = (i + tables.len() - start.min(tables.len())) % tables.len();
            (overlap_ratio(version, output, t), rotated, t)
        })
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    candidates.into_iter().find_map(|(_, _, table)| {
        let inputs = Inputs {
            level,
            output_level: output,
            tables: vec![Arc::clone(table)],
        };
        let pointer = Some(table.info().largest.clone());
        let plan = finish(version, inputs, score, pointer, options);
        let plan = expand::expand(version, plan, options, busy);
        (!busy.conflicts(&plan)).then_some(plan)
    })
}

/// Bytes of `output` that compacting `table` into it rewrites, per byte of the
/// table (RocksDB's `kMinOverlappingRatio`): the table with the least is the
/// cheapest to push down. Random writes spread every table over the whole key range,
/// so the saving comes from tables whose range the level below holds little of.
fn overlap_ratio(version: &Version, output: Level, table: &TableHandle) -> f64 {
    let info = table.info();
    let below: u64 = version
        .overlapping(output, info.smallest_user(), info.largest_user())
        .iter()
        .map(|t| t.info().size)
        .sum();
    below as f64 / info.size.max(1) as f64
}

/// The tables chosen from the level compacted out of.
struct Inputs {
    level: Level,
    output_level: Level,
    tables: Vec<Arc<TableHandle>>,
}

/// Adds the next-level, grandparent and deeper overlaps to a plan's inputs.
fn finish(
    version: &Version,
    inputs: Inputs,
    score: f64,
    pointer: Option<InternalKey>,
    options: &CompactionOptions,
) -> CompactionPlan {
    let Inputs {
        level,
        output_level,
        tables: inputs,
    } = inputs;
    // Every caller has tables to compact (`manual` returns `None` without any); an
    // empty range would plan a compaction of nothing.
    debug_assert!(!inputs.is_empty(), "a compaction plan without inputs");
    let (lo, hi) = user_range(inputs.iter()).unwrap_or_default();
    let next_inputs = version.overlapping(output_level, &lo, &hi);
    let (lo, hi) = user_range(inputs.iter().chain(&next_inputs)).unwrap_or((lo, hi));
    let below: Vec<_> = Level::all()
        .skip(output_level.index() + 1)
        .map(|l| version.overlapping(l, &lo, &hi))
        .collect();
    let grandparents = below.first().cloned().unwrap_or_default();
    let grandparent_bytes: u64 = grandparents.iter().map(|t| t.info().size).sum();
    // A moved table that overlaps too much below would make its next compaction big.
    // A move keeps the table's blocks as they are, so it must not cross into a level
    // compressed otherwise (RocksDB's `InputCompressionMatchesOutput`): keys written in
    // order never overlap, and their L0 tables would reach the bottom uncompressed.
    let trivial_move = inputs.len() == 1
        && next_inputs.is_empty()
        && grandparent_bytes <= options.max_grandparent_overlap
        && options.compression[level.index()] == options.compression[output_level.index()];
    CompactionPlan {
        level,
        output_level,
        inputs,
        next_inputs,
        grandparents,
        below,
        trivial_move,
        pointer,
        score,
        keyspace: KeyspaceId::DEFAULT,
    }
}

/// Bytes that compaction still has to rewrite to bring every level under its target:
/// the facade slows writes down when this grows too large.
pub fn pending_compaction_bytes(version: &Version, options: &CompactionOptions) -> u64 {
    let targets = LevelTargets::of(version, options);
    let mut pending = 0u64;
    if version.l0_count() >= options.l0_compaction_trigger {
        pending = version.level_size(Level::L0) + version.level_size(targets.base);
    }
    for level in Level::all().skip(1).filter(|&l| l != Level::BOTTOM) {
        let size = version.level_size(level);
        let excess = size.saturating_sub(targets.target(level));
        if excess == 0 {
            continue;
        }
        let below = level.below().map_or(0, |b| version.level_size(b));
        // Each excess byte is merged with its share of the level below.
        let fanout = below.checked_div(size).unwrap_or(0);
        pending = pending.saturating_add(excess.saturating_mul(fanout + 1));
    }
    pending
}

mod expand;

#[cfg(test)]
mod tests;
