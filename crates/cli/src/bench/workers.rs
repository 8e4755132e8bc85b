//! The loop each worker thread runs for a workload, timing every operation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;

use super::engine::{Engine, EngineResult, KEYSPACES};
use super::histogram::Histogram;
use super::keys::{Rng, Values, write_key, write_missing_key};
use super::run::Config;
use super::workload::Workload;

/// Progress is reported every this many operations (cheaper than every one).
const PROGRESS_STEP: u64 = 1024;
/// Scans time groups of this many entries: a clock read per entry would cost more
/// than the entry.
const SCAN_GROUP: u64 = 1024;

/// What every worker of a workload shares.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: &'a dyn Engine,
    pub(crate) config: &'a Config,
    pub(crate) values: &'a Values,
    pub(crate) bar: &'a ProgressBar,
    /// Set when the measured threads are done (stops readwhilewriting's writer).
    pub(crate) stop: &'a AtomicBool,
    /// When the workload stops early, if it has a time limit.
    pub(crate) deadline: Option<Instant>,
}

/// A thread's contiguous part of a workload's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) first: u64,
    pub(crate) count: u64,
}

impl Share {
    /// Thread `t`'s share of `ops` operations over `threads` threads.
    pub(crate) fn of(ops: u64, threads: usize, t: usize) -> Share {
        let (threads, t) = (threads.max(1) as u64, t as u64);
        let (base, extra) = (ops / threads, ops % threads);
        Share {
            first: t * base + t.min(extra),
            count: base + u64::from(t < extra),
        }
    }
}

/// What one thread measured.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) latency: Histogram,
    pub(crate) bytes: u64,
    pub(crate) found: u64,
    /// Whether a scan met the end of the keys before its share of entries (the
    /// store held fewer keys than `num`), as opposed to being stopped by the time
    /// limit.
    pub(crate) ran_out_of_keys: bool,
    /// Transaction attempts that aborted on a conflict.
    pub(crate) aborts: u64,
    /// When the last timed operation ended.
    last: Option<Instant>,
}

impl Tally {
    pub(crate) fn merge(&mut self, other: &Tally) {
        self.latency.merge(&other.latency);
        self.bytes += other.bytes;
        self.found += other.found;
        self.ran_out_of_keys |= other.ran_out_of_keys;
        self.aborts += other.aborts;
    }

    pub(crate) fn time<T>(&mut self, op: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = op();
        let end = Instant::now();
        self.latency.record((end - start).as_nanos() as u64);
        self.last = Some(end);
        out
    }
}

/// Runs thread `thread`'s share of `workload`.
pub(crate) fn work(ctx: &Ctx<'_>, w: Workload, share: Share, thread: u64) -> EngineResult<Tally> {
    let seed = (w as u64 + 1) * 1_000_003 + thread;
    match w {
        Workload::FillSeq | Workload::FillSync | Workload::FillSync4 => fill_seq(ctx, w, share),
        Workload::FillBatch => fill_batch(ctx, share, false),
        Workload::BatchKeyspaces => fill_batch(ctx, share, true),
        Workload::FillKeyspaces => fill_keyspaces(ctx, share),
        Workload::FillRandom | Workload::Overwrite => fill_random(ctx, share, seed),
        Workload::ReadRandom | Workload::ReadWhileWriting => read(ctx, share, seed, false),
        Workload::ReadMissing => read(ctx, share, seed, true),
        Workload::SeekRandom
        | Workload::SeekRandom100
        | Workload::SeekRandomRef
        | Workload::SeekRandom100Ref => seek(ctx, w, share, seed),
        Workload::ReadSeq | Workload::ReadSeqRef => scan(ctx, share, false, w.borrows()),
        Workload::ReadReverse | Workload::ReadReverseRef => scan(ctx, share, true, w.borrows()),
        Workload::DeleteRandom => delete(ctx, share, seed),
        Workload::TxnIncrement => super::txn::increment(ctx, share, seed),
        Workload::TxnTransfer => super::txn::transfer(ctx, share, seed),
        Workload::BulkLoad => bulk_load(ctx, share),
    }
}

/// Reports progress every `PROGRESS_STEP` operations; `false` once the last timed
/// operation ended past the deadline (no extra clock read: a slow engine whose
/// single operations take seconds still stops on time).
pub(crate) fn tick(ctx: &Ctx<'_>, i: u64, t: &Tally) -> bool {
    if i % PROGRESS_STEP == PROGRESS_STEP - 1 {
        ctx.bar.inc(PROGRESS_STEP);
    }
    ctx.deadline
        .zip(t.last)
        .is_none_or(|(deadline, last)| last < deadline)
}

fn past_deadline(ctx: &Ctx<'_>) -> bool {
    ctx.deadline.is_some_and(|d| Instant::now() >= d)
}

fn fill_seq(ctx: &Ctx<'_>, w: Workload, share: Share) -> EngineResult<Tally> {
    let (mut t, mut key) = (Tally::default(), vec![0; ctx.config.key_size]);
    let sync = matches!(w, Workload::FillSync | Workload::FillSync4);
    for i in 0..share.count {
        let n = share.first + i;
        write_key(&mut key, n);
        let value = ctx.values.get(n);
        if sync {
            t.time(|| ctx.engine.put_sync(&key, value))?;
        } else {
            t.time(|| ctx.engine.put(&key, value))?;
        }
        t.bytes += (key.len() + value.len()) as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

fn fill_random(ctx: &Ctx<'_>, share: Share, seed: u64) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (
        Tally::default(),
        vec![0; ctx.config.key_size],
        Rng::new(seed),
    );
    for i in 0..share.count {
        let n = rng.below_by_multiply(ctx.config.num);
        write_key(&mut key, n);
        let value = ctx.values.get(i ^ n);
        t.time(|| ctx.engine.put(&key, value))?;
        t.bytes += (key.len() + value.len()) as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

/// Ascending keys, key `n` into keyspace `n % KEYSPACES`.
fn fill_keyspaces(ctx: &Ctx<'_>, share: Share) -> EngineResult<Tally> {
    let (mut t, mut key) = (Tally::default(), vec![0; ctx.config.key_size]);
    for i in 0..share.count {
        let n = share.first + i;
        write_key(&mut key, n);
        let value = ctx.values.get(n);
        t.time(|| ctx.engine.put_in(n as usize % KEYSPACES, &key, value))?;
        t.bytes += (key.len() + value.len()) as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

/// Batches of ascending keys; `spread`: key `n` of each into keyspace
/// `n % KEYSPACES`, else all into the default keyspace.
fn fill_batch(ctx: &Ctx<'_>, share: Share, spread: bool) -> EngineResult<Tally> {
    let size = ctx.config.batch_size.max(1) as u64;
    let ks = ctx.config.key_size;
    let mut t = Tally::default();
    let mut keys = vec![0u8; ks * size as usize];
    let mut done = 0;
    while done < share.count {
        let len = size.min(share.count - done);
        let mut pairs = Vec::with_capacity(len as usize);
        for (j, key) in keys.chunks_exact_mut(ks).take(len as usize).enumerate() {
            write_key(key, share.first + done + j as u64);
        }
        for (j, key) in keys.chunks_exact(ks).take(len as usize).enumerate() {
            let value = ctx.values.get(share.first + done + j as u64);
            t.bytes += (key.len() + value.len()) as u64;
            pairs.push((key, value));
        }
        let start = Instant::now();
        if spread {
            let first = share.first + done;
            let entries: Vec<_> = (pairs.iter().enumerate())
                .map(|(j, &(k, v))| ((first + j as u64) as usize % KEYSPACES, k, v))
                .collect();
            ctx.engine.put_batch_in(&entries)?;
        } else {
            ctx.engine.put_batch(&pairs)?;
        }
        t.latency
            .record_n(start.elapsed().as_nanos() as u64 / len, len);
        done += len;
        ctx.bar.inc(len);
        if past_deadline(ctx) {
            break;
        }
    }
    Ok(t)
}

fn read(ctx: &Ctx<'_>, share: Share, seed: u64, missing: bool) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (
        Tally::default(),
        vec![0; ctx.config.key_size],
        Rng::new(seed),
    );
    for i in 0..share.count {
        let n = rng.below_by_multiply(ctx.config.num);
        if missing {
            write_missing_key(&mut key, n);
        } else {
            write_key(&mut key, n);
        }
        if let Some(len) = t.time(|| ctx.engine.get(&key))? {
            t.found += 1;
            t.bytes += (key.len() + len) as u64;
        }
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

/// A scan through the engine's ordinary iterator, or its borrowing steps.
fn scan_with(
    ctx: &Ctx<'_>,
    borrowed: bool,
    from: Option<&[u8]>,
    reverse: bool,
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> EngineResult<u64> {
    if borrowed {
        ctx.engine.scan_borrowed(from, reverse, visit)
    } else {
        ctx.engine.scan(from, reverse, visit)
    }
}

fn seek(ctx: &Ctx<'_>, w: Workload, share: Share, seed: u64) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (
        Tally::default(),
        vec![0; ctx.config.key_size],
        Rng::new(seed),
    );
    let entries = w.seek_entries().unwrap_or(1);
    for i in 0..share.count {
        write_key(&mut key, rng.below_by_multiply(ctx.config.num));
        let mut bytes = 0;
        let mut left = entries;
        let seen = t.time(|| {
            scan_with(ctx, w.borrows(), Some(&key), false, &mut |k, v| {
                bytes += k.len() + v.len();
                left -= 1;
                left > 0
            })
        })?;
        t.found += seen;
        t.bytes += bytes as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

fn scan(ctx: &Ctx<'_>, share: Share, reverse: bool, borrowed: bool) -> EngineResult<Tally> {
    let mut t = Tally::default();
    let (mut bytes, mut seen, mut group_start) = (0u64, 0u64, Instant::now());
    let latency = &mut t.latency;
    let limit = share.count;
    let mut timed_out = false;
    scan_with(ctx, borrowed, None, reverse, &mut |k, v| {
        bytes += (k.len() + v.len()) as u64;
        seen += 1;
        if seen % SCAN_GROUP == 0 {
            let now = Instant::now();
            latency.record_n(
                (now - group_start).as_nanos() as u64 / SCAN_GROUP,
                SCAN_GROUP,
            );
            group_start = now;
            ctx.bar.inc(SCAN_GROUP);
            if past_deadline(ctx) {
                timed_out = true;
                return false;
            }
        }
        seen < limit
    })?;
    t.ran_out_of_keys = seen < limit && !timed_out;
    let rest = seen % SCAN_GROUP;
    if let Some(per_entry) = (group_start.elapsed().as_nanos() as u64).checked_div(rest) {
        latency.record_n(per_entry, rest);
    }
    t.bytes = bytes;
    t.found = seen;
    Ok(t)
}

fn delete(ctx: &Ctx<'_>, share: Share, seed: u64) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (
        Tally::default(),
        vec![0; ctx.config.key_size],
        Rng::new(seed),
    );
    for i in 0..share.count {
        write_key(&mut key, rng.below_by_multiply(ctx.config.num));
        t.time(|| ctx.engine.delete(&key))?;
        t.bytes += key.len() as u64;
        if !tick(ctx, i, &t) {
            break;
        }
    }
    Ok(t)
}

/// readwhilewriting's writer: random overwrites until the readers are done.
pub(crate) fn background_writer(ctx: &Ctx<'_>) -> EngineResult<Tally> {
    let (mut t, mut key, mut rng) = (Tally::default(), vec![0; ctx.config.key_size], Rng::new(7));
    let mut i = 0u64;
    while !ctx.stop.load(Ordering::Relaxed) {
        let n = rng.below_by_multiply(ctx.config.num);
        write_key(&mut key, n);
        let value = ctx.values.get(i ^ n);
        t.time(|| ctx.engine.put(&key, value))?;
        t.bytes += (key.len() + value.len()) as u64;
        i += 1;
    }
    Ok(t)
}

/// The keys of `share` in a scrambled order (a bijection of `0..count`, so every key
/// is loaded once and the store ends up as after `fillbatch`), through the engine's
/// bulk loader. Puts are timed in groups of `batch_size`, as `fillbatch` times its
/// batches (two clock reads per put would cost a loader whose put only copies into
/// memory about as much as the put itself); the load's final sort, table writes and
/// ingest count in the workload's elapsed time.
fn bulk_load(ctx: &Ctx<'_>, share: Share) -> EngineResult<Tally> {
    let mut t = Tally::default();
    let mut key = vec![0u8; ctx.config.key_size];
    let count = share.count;
    // `i * step mod count`, stepped by addition: a 128-bit division per key would
    // cost about as much as the put itself.
    let step = scramble_step(count) % count.max(1);
    let group = ctx.config.batch_size.max(1) as u64;
    ctx.engine.bulk_load(&mut |sink| {
        let (mut i, mut scrambled) = (0, 0u64);
        while i < count {
            let len = group.min(count - i);
            let start = Instant::now();
            for _ in 0..len {
                let n = share.first + scrambled;
                scrambled += step;
                if scrambled >= count {
                    scrambled -= count;
                }
                write_key(&mut key, n);
                let value = ctx.values.get(n);
                sink.put(&key, value)?;
                t.bytes += (key.len() + value.len()) as u64;
            }
            t.latency
                .record_n(start.elapsed().as_nanos() as u64 / len, len);
            i += len;
            ctx.bar.inc(len);
            if past_deadline(ctx) {
                break;
            }
        }
        Ok(())
    })?;
    Ok(t)
}

/// A step coprime with `count`, so `i * step mod count` visits every number below
/// `count` once, far from each other.
fn scramble_step(count: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    (1_000_003..)
        .step_by(2)
        .find(|&s| gcd(s, count.max(1)) == 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_operation_once() {
        let shares: Vec<_> = (0..3).map(|t| Share::of(10, 3, t)).collect();
        assert_eq!(shares[0], Share { first: 0, count: 4 });
        assert_eq!(shares[1], Share { first: 4, count: 3 });
        assert_eq!(shares[2], Share { first: 7, count: 3 });
    }

    #[test]
    fn the_scramble_visits_every_key_once() {
        for count in [1u64, 7, 1000, 1_000_003 * 2] {
            let step = super::scramble_step(count);
            let mut seen = std::collections::HashSet::new();
            for i in 0..count.min(5000) {
                assert!(seen.insert((i as u128 * step as u128 % count as u128) as u64));
            }
        }
    }
}
