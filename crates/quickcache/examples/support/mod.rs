//! What the measuring examples share: the key stream and the report line, so that
//! their figures are comparable.

#![allow(dead_code, reason = "each example uses a part of it")]

use std::path::PathBuf;
use std::time::Instant;

/// The command line `[keys] [dir]`: the key count (`default` if absent) and the
/// directory, if one was given.
pub(crate) fn keys_and_dir(
    default: u64,
) -> Result<(u64, Option<PathBuf>), std::num::ParseIntError> {
    let mut args = std::env::args().skip(1);
    let n = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(default);
    Ok((n, args.next().map(PathBuf::from)))
}

/// The shared seeded generator, so runs are comparable.
#[allow(unused_imports, reason = "not every example draws random keys")]
pub(crate) use quickcache::fs::Rng;

/// Key `i` as 16 zero-padded decimal digits (what `format!("{i:016}")` gives), without
/// a `format!` per key.
pub(crate) fn key(mut i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    for b in k.iter_mut().rev() {
        *b = b'0' + (i % 10) as u8;
        i /= 10;
    }
    k
}

/// One line: the workload, its operations, its time and its rate.
pub(crate) fn report(name: &str, ops: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<12} {ops:>10} ops in {secs:>7.2} s: {:>10.0} ops/s",
        ops as f64 / secs
    );
}
