//! Kills during `repair` (issue 23: repair in the kill -9 suite). In one cycle in
//! twenty the child repairs the database the previous cycle's kill left, instead of
//! opening it, and is killed while it does. The parent's check is the usual one with
//! no operation issued: `verify` finds no damage, and the database opens holding
//! exactly what it held, since a repair moves or removes nothing before its new
//! manifest is durable and then holds the same data.

use std::path::Path;
use std::time::Duration;

use crate::check::Violation;
use crate::rng::Rng;

/// The environment variable that makes a child repair instead of open.
pub(super) const ENV_REPAIR: &str = "QUICKCACHE_KILL_REPAIR";
/// What the child prints on stdout when it starts repairing.
pub(super) const REPAIRING: &str = "kill-child: repairing";
/// How long a repairing child waits to be killed before it gives up.
const UNKILLED: Duration = Duration::from_secs(60);

/// Whether the child of `cycle` repairs (never in the first cycle, which has no
/// database yet).
pub(super) fn repairs(seed: u64, cycle: u64) -> bool {
    cycle > 0 && Rng::new(seed.wrapping_mul(0x9E37_79B9) ^ cycle.rotate_left(29)).one_in(20)
}

/// A repairing child's body: repairs, then waits to be killed. It returns only on
/// an error, or if no kill came (which the parent reports as the child ending on
/// its own).
pub(super) fn child(dir: &Path) -> Violation {
    println!("{REPAIRING}");
    if let Err(e) = quickcache::repair_with(dir, super::options()) {
        return format!("repair: {e}");
    }
    std::thread::sleep(UNKILLED);
    format!("kill-child: repaired, and not killed within {UNKILLED:?}")
}
