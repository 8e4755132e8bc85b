//! Input expansion for a deeper level's compaction.

use super::{Busy, CompactionPlan, Inputs, finish, user_range};
use crate::{CompactionOptions, Version};

/// Most bytes an expanded plan may take in, in tables of `table_size`.
const EXPAND_LIMIT: u64 = 25;

/// LevelDB's and RocksDB's input expansion: the other tables of `plan.level` that
/// lie inside the key range the plan rewrites anyway are taken in too, if that adds
/// no table of the level below (and stays under [`EXPAND_LIMIT`] table sizes). They
/// then go down without rewriting one more byte of the next level.
pub(super) fn expand(
    version: &Version,
    plan: CompactionPlan,
    options: &CompactionOptions,
    busy: &Busy,
) -> CompactionPlan {
    let Some((lo, hi)) = plan.user_range() else {
        return plan;
    };
    let wider = version.overlapping(plan.level, &lo, &hi);
    if wider.len() <= plan.inputs.len() || wider.iter().any(|t| busy.tables.contains(&t.info().id))
    {
        return plan;
    }
    let bytes: u64 = wider
        .iter()
        .chain(&plan.next_inputs)
        .map(|t| t.info().size)
        .sum();
    let Some((wide_lo, wide_hi)) = user_range(wider.iter()) else {
        return plan;
    };
    let below = version.overlapping(plan.output_level, &wide_lo, &wide_hi);
    if bytes > options.table_size.saturating_mul(EXPAND_LIMIT)
        || below.len() != plan.next_inputs.len()
    {
        return plan;
    }
    let pointer = wider.last().map(|t| t.info().largest.clone());
    let inputs = Inputs {
        level: plan.level,
        output_level: plan.output_level,
        tables: wider,
    };
    finish(version, inputs, plan.score, pointer, options)
}
