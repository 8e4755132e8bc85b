//! The transactional workloads' worker loops: `txn_increment` and `txn_transfer`.

use super::engine::{ACCOUNTS, EngineResult, HOT_COUNTERS};
use super::keys::{Rng, write_key};
use super::workers::{Ctx, Share, Tally, tick};

/// Increments of random hot counters, one transaction each.
pub(crate) fn increment(ctx: &Ctx<'_>, share: Share, seed: u64) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (
        Tally::default(),
        vec![0; ctx.config.key_size],
        Rng::new(seed),
    );
    for i in 0..share.count {
        write_key(&mut key, rng.below_by_multiply(HOT_COUNTERS));
        t.aborts += t.time(|| ctx.engine.increment(&key))?;
        t.bytes += (key.len() + 8) as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

/// Transfers between random accounts, one transaction each.
pub(crate) fn transfer(ctx: &Ctx<'_>, share: Share, seed: u64) -> EngineResult<Tally> {
    let mut t = Tally::default();
    let (mut from, mut to) = (vec![0; ctx.config.key_size], vec![0; ctx.config.key_size]);
    let mut rng = Rng::new(seed);
    for i in 0..share.count {
        write_key(&mut from, rng.below_by_multiply(ACCOUNTS));
        write_key(&mut to, rng.below_by_multiply(ACCOUNTS));
        let amount = rng.below_by_multiply(100);
        t.aborts += t.time(|| ctx.engine.transfer(&from, &to, amount))?;
        t.bytes += 2 * (from.len() + 8) as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}
