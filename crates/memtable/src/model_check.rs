//! Model-checked tests of the hand-made concurrent structures: the skiplist, the
//! arena's bucket growth and [`crate::Visibility`], run by loom over every
//! interleaving (up to a preemption bound) and every value the memory model lets
//! an atomic load return.
//!
//! They exist only under `--cfg quickcache_loom`, which swaps the structures'
//! atomics, mutexes and `OnceLock` for loom's (`crate::sync`):
//!
//! ```text
//! RUSTFLAGS="--cfg quickcache_loom" CARGO_TARGET_DIR=target/loom cargo test \
//!   --config 'profile.dev.package.loom.opt-level=3' \
//!   --config 'profile.dev.package.quickcache-memtable.opt-level=3' \
//!   -p quickcache-memtable --lib model_check
//! ```
//!
//! `--lib model_check`: the crate's other tests compile under the cfg but would
//! call loom outside a model. The separate target dir keeps the normal build's
//! cache. Optimizing loom and this crate (debug assertions stay on: several of them
//! are what fails when an ordering is broken) takes the models from about 90 s to
//! under 10 s, for a build about as long as a debug one. `LOOM_MAX_PREEMPTIONS=3`
//! explores more schedules of the skiplist than its default of 2, at many times
//! the cost.
//!
//! # Why loom and not shuttle
//!
//! What these structures get wrong, if anything, is a memory ordering: a node's
//! words and entry are written `Relaxed` and published by one `Release` exchange,
//! `visible` is published `Release` after inserts into another structure. Shuttle
//! explores schedules but runs every atomic sequentially consistent, so a missing
//! `Release` can never fail under it; loom also lets a load return any store the
//! C++11 model allows, so it does: with the link's exchange `Relaxed`, all three
//! skiplist models fail in well under a second (`docs/design.md` lists the breaks
//! tried). The
//! price, small models (two or three threads, a handful of keys) and a small first
//! bucket under the cfg, suits structures whose every operation is a few atomics.

mod arena;
mod skiplist;
mod visibility;

/// Runs `f` under loom, with at most `preemptions` per execution unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise. Bugs need few preemptions, and each one
/// more multiplies the schedules: the skiplist's models take 2 (some 2,500 to
/// 21,000 executions each), the cheaper arena and visibility models 3.
fn check(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}
