//! The compaction executor: carries out a [`CompactionPlan`] and installs the result
//! with one manifest edit that swaps the inputs for the outputs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quickcache_sstable::{Cursor, FragmentedRangeTombstones, KeyRef, SeqNo};
use snafu::ResultExt;

use crate::error::{InputSnafu, StoppedSnafu};
use crate::filter::{RewriteCounts, Rewriter, SharedFilter};
use crate::output::Outputs;
use crate::range_del::RangeDels;
use crate::version::BoxCursor;
use crate::{
    CompactionPlan, Decision, LevelCursor, Result, Retention, Stats, TableHandle, VersionEdit,
    VersionSet,
};

/// How often (in entries) a running compaction checks whether it must stop (also
/// before the first entry).
const STOP_CHECK_INTERVAL: u64 = 1024;

impl VersionSet {
    /// Runs `plan` (from [`crate::pick`] on the current version): merges the inputs,
    /// keeps for each user key the newest version plus each version one of `snapshots`
    /// still needs, drops tombstones where nothing older of their key lies below, cuts
    /// outputs at the target table size and before they overlap too much of the level
    /// below, syncs them and the directory, then installs one edit
    /// (`docs/crash-safety.md` rule 2). A trivial move only records the move.
    ///
    /// If `stop` becomes true the job ends early with [`crate::Error::Stopped`], its
    /// partial outputs removed; the tree is unchanged.
    pub fn compact(
        &self,
        plan: &CompactionPlan,
        snapshots: &[SeqNo],
        stop: &AtomicBool,
    ) -> Result<()> {
        let mut edit = VersionEdit {
            keyspace: plan.keyspace,
            ..VersionEdit::new()
        };
        for t in &plan.inputs {
            edit.removed.push((plan.level, t.info().id));
        }
        for t in &plan.next_inputs {
            edit.removed.push((plan.output_level, t.info().id));
        }
        if let Some(p) = &plan.pointer {
            edit.pointers.push((plan.level, p.clone()));
        }
        if plan.trivial_move {
            edit.added = plan
                .inputs
                .iter()
                .map(|t| (plan.output_level, t.info().clone()))
                .collect();
            self.log_and_apply(edit).map_err(gone_is_stopped)?;
            Stats::add(&self.stats.trivial_moves, 1);
            return Ok(());
        }
        let options = self.options_of(plan.keyspace);
        let mut outputs = Outputs::new(
            self,
            options.table_options(plan.output_level),
            &self.stats.compaction_write_bytes,
        );
        let (filter, name) = self.filter_of(plan.keyspace);
        let rewriter = Rewriter::new(
            self.options.hooks.clock.now(),
            filter.as_ref().map(SharedFilter::get),
            &name,
            plan.output_level.index(),
            snapshots,
        );
        let written = merge_into(&options, plan, snapshots, stop, rewriter, &mut outputs)
            .and_then(|counts| Ok((outputs.finish()?, counts)));
        let (tables, counts) = match written {
            Ok(done) => done,
            Err(e) => {
                outputs.abandon();
                return Err(e);
            }
        };
        edit.added = tables.into_iter().map(|t| (plan.output_level, t)).collect();
        if let Err(e) = self.log_and_apply(edit) {
            // Dropped meanwhile, or the disk full (the edit is torn or was never
            // written: `docs/crash-safety.md` rule 17): nothing lists the outputs, so
            // they go now, and a retry writes new ones.
            if matches!(e, crate::Error::NoSuchKeyspace { .. }) || e.is_retryable_no_space() {
                outputs.abandon();
            }
            return Err(gone_is_stopped(e));
        }
        Stats::add(&self.stats.compactions, 1);
        Stats::add(&self.stats.compaction_read_bytes, plan.input_bytes());
        Stats::add(&self.stats.expired, counts.expired);
        Stats::add(&self.stats.filter_removed, counts.removed);
        Stats::add(&self.stats.filter_changed, counts.changed);
        Ok(())
    }
}

impl VersionSet {
    /// Runs due compactions in the calling thread until none is left; returns how many
    /// ran. For tools and tests; the engine uses [`crate::Compactor`].
    pub fn compact_until_idle(&self, snapshots: &[SeqNo]) -> Result<usize> {
        let never = AtomicBool::new(false);
        let mut done = 0;
        while let Some(plan) = self.pick_any(&crate::Busy::default()) {
            self.compact(&plan, snapshots, &never)?;
            done += 1;
        }
        Ok(done)
    }
}

/// The merge of a plan's inputs: each L0 table on its own (newest first), then the
/// input level and the output level as level cursors.
fn input_cursor(plan: &CompactionPlan) -> crate::MergingCursor<BoxCursor> {
    let mut children: Vec<BoxCursor> = Vec::new();
    if plan.level == crate::Level::L0 {
        for t in &plan.inputs {
            children.push(Box::new(LevelCursor::new(vec![Arc::clone(t)])));
        }
    } else {
        children.push(Box::new(LevelCursor::new(plan.inputs.clone())));
    }
    children.push(Box::new(LevelCursor::new(plan.next_inputs.clone())));
    crate::MergingCursor::new(children)
}

/// A compaction of a keyspace dropped while it ran is not a failure: it stops, as an
/// interrupted one does, and leaves the tree (and the pool) as they were.
fn gone_is_stopped(e: crate::Error) -> crate::Error {
    match e {
        crate::Error::NoSuchKeyspace { .. } => crate::Error::Stopped,
        e => e,
    }
}

fn merge_into(
    options: &crate::CompactionOptions,
    plan: &CompactionPlan,
    snapshots: &[SeqNo],
    stop: &AtomicBool,
    mut rewriter: Rewriter<'_>,
    outputs: &mut Outputs<'_>,
) -> Result<RewriteCounts> {
    let mut input = input_cursor(plan);
    let mut retention = Retention::new(snapshots.to_vec());
    let mut range_dels = RangeDels::new(input_range_tombstones(plan)?, snapshots);
    let range_absent_below = |lo: &[u8], hi: &[u8]| absent_range_below(plan, lo, hi);
    let mut cutter = Cutter::new(plan, options.table_size, options.max_grandparent_overlap);
    let mut last_user: Vec<u8> = Vec::new();
    let mut count = 0u64;
    input.seek_to_first().context(InputSnafu)?;
    while let (Some(key), Some(value)) = (input.key(), input.value()) {
        count += 1;
        if (count - 1).is_multiple_of(STOP_CHECK_INTERVAL) && stop.load(Ordering::Relaxed) {
            return StoppedSnafu.fail();
        }
        let new_user_key = count == 1 || key.user_key != last_user.as_slice();
        if new_user_key {
            range_dels.write_before(Some(key.user_key), outputs, range_absent_below)?;
            // Outputs are cut only between user keys, so that the versions of one user
            // key never straddle two tables of a level, and outside range tombstones.
            if cutter.should_cut(key.user_key, outputs) && range_dels.may_cut_before(key.user_key) {
                outputs.cut()?;
                range_dels.cut();
            }
            last_user.clear();
            last_user.extend_from_slice(key.user_key);
        }
        // A covered entry goes first, whatever its expiry. Then expiry and the filter:
        // they may turn the entry into a tombstone at its own sequence number, which
        // retention then treats as any other.
        if range_dels.covers(key) {
            input.next().context(InputSnafu)?;
            continue;
        }
        let (kind, value) = rewriter.rewrite(key, value, new_user_key)?;
        let key = KeyRef { kind, ..key };
        if keep(&mut retention, key, plan) {
            outputs.add(key, value)?;
        }
        input.next().context(InputSnafu)?;
    }
    range_dels.write_before(None, outputs, range_absent_below)?;
    Ok(rewriter.counts)
}

/// The range tombstones of every input table, fragmented together.
fn input_range_tombstones(plan: &CompactionPlan) -> Result<FragmentedRangeTombstones> {
    let mut all = Vec::new();
    for t in plan.all_inputs() {
        all.extend(t.table()?.range_tombstones().tombstones());
    }
    Ok(FragmentedRangeTombstones::new(all))
}

/// Whether no level below the output may hold a key in `[lo, hi]`.
fn absent_range_below(plan: &CompactionPlan, lo: &[u8], hi: &[u8]) -> bool {
    plan.below
        .iter()
        .all(|tables| tables.iter().all(|t| !t.info().overlaps(lo, hi)))
}

fn keep(retention: &mut Retention, key: KeyRef<'_>, plan: &CompactionPlan) -> bool {
    let absent_below =
        key.kind != quickcache_sstable::ValueKind::Tombstone || absent_below(plan, key.user_key);
    retention.decide(key, absent_below) == Decision::Keep
}

/// Whether no level below the output may hold `user_key`.
fn absent_below(plan: &CompactionPlan, user_key: &[u8]) -> bool {
    plan.below.iter().all(|tables| {
        let i = tables.partition_point(|t| t.info().largest_user() < user_key);
        tables
            .get(i)
            .is_none_or(|t| t.info().smallest_user() > user_key)
    })
}

/// Decides where output tables end: at the target size, or once the output overlaps
/// more than the allowed bytes of the grandparent level (LevelDB's "should stop
/// before"), which bounds the cost of compacting the output later.
struct Cutter<'a> {
    grandparents: &'a [Arc<TableHandle>],
    next: usize,
    overlap: u64,
    table_size: u64,
    max_overlap: u64,
}

impl<'a> Cutter<'a> {
    fn new(plan: &'a CompactionPlan, table_size: u64, max_overlap: u64) -> Self {
        Cutter {
            grandparents: &plan.grandparents,
            next: 0,
            overlap: 0,
            table_size,
            max_overlap,
        }
    }

    fn should_cut(&mut self, user_key: &[u8], outputs: &Outputs<'_>) -> bool {
        let passed = self.next;
        while let Some(t) = self.grandparents.get(self.next)
            && t.info().largest_user() < user_key
        {
            if outputs.is_open() {
                self.overlap += t.info().size;
            }
            self.next += 1;
        }
        // Past a quarter of the target size, an output also ends where a grandparent
        // table does (after RocksDB's dynamic file size): its later compaction then
        // rewrites the grandparent tables it covers, not two more it only grazes at
        // its ends. `fill -- 64 8`: write amplification 5.65 without, 5.12 cutting
        // from half the target size, 5.03 from a quarter (tables 5.8 MiB on average).
        let at_boundary = self.next > passed && outputs.open_size() >= self.table_size / 4;
        let cut = outputs.is_open()
            && (outputs.open_size() >= self.table_size
                || self.overlap > self.max_overlap
                || at_boundary);
        if cut || !outputs.is_open() {
            self.overlap = 0;
        }
        cut
    }
}
