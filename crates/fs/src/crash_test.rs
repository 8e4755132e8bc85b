//! [`CrashTest`]: power loss at every I/O operation of an application's workload, on
//! the simulated disk, with each crash state handed to the application's own check.

use std::fmt;

use crate::{CrashMode, Fault, FaultPlan, Rng, SimFs};

/// One crash state: the seed the run drew from, the I/O operation at which the
/// process died (none failed before it), and how the power loss treated unsynced
/// data. [`CrashTest::only`] replays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    /// The seed of the run.
    pub seed: u64,
    /// The I/O operation (counted from 0) from which every operation failed.
    pub op: u64,
    /// What the power loss did to unsynced data.
    pub mode: CrashMode,
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}, crash at I/O operation {} ({:?}); replay with CrashTest::new({}).only({})",
            self.seed, self.op, self.mode, self.seed, self.op
        )
    }
}

/// A crash state whose check failed: where, and what the check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashFailure {
    /// The crash state.
    pub point: CrashPoint,
    /// The check's message.
    pub message: String,
}

impl fmt::Display for CrashFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.point, self.message)
    }
}

impl std::error::Error for CrashFailure {}

/// What a [`CrashTest::run`] covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrashReport {
    /// I/O operations of the workload's crash-free run.
    pub ops: u64,
    /// Crash states checked.
    pub states: u64,
}

/// Crashes an application at every I/O operation (or a sample of them) and checks
/// what survives, as quickcache's own power-loss suite does.
///
/// For a seed: the workload runs once on a fresh [`SimFs`] to count its I/O
/// operations; then, for each crash point `n`, it runs again on a fresh disk whose
/// operations all fail from the `n`-th on (the process "dies" there), and the check
/// gets the disk a power loss leaves behind ([`SimFs::crash_with`]) with whatever
/// the workload returned (what it saw acknowledged, say). Every run is a pure
/// function of the seed, so a failure names the seed and operation that replay it.
///
/// The workload must be deterministic for a seed (draw randomness from the seed,
/// not the clock) and must stop at its first error, as a crashed process would.
///
/// # Examples
/// A file written and synced survives every crash after its sync:
/// ```
/// use std::path::Path;
/// use quickcache_fs::{CrashTest, FileSystem, SimFs};
///
/// let report = CrashTest::new(7).run(
///     |fs: &SimFs| -> bool {
///         let write = || -> quickcache_fs::Result<()> {
///             let mut f = fs.create(Path::new("/note"))?;
///             f.append(b"hello")?;
///             f.sync_data()?;
///             fs.sync_dir(Path::new("/"))
///         };
///         write().is_ok() // acknowledged?
///     },
///     |disk: &SimFs, acknowledged: &bool| {
///         let bytes = disk.read_file(Path::new("/note"));
///         match (acknowledged, bytes) {
///             (true, Ok(b)) if b == b"hello" => Ok(()),
///             (true, other) => Err(format!("acknowledged, then {other:?}")),
///             (false, _) => Ok(()), // anything goes before the acknowledgement
///         }
///     },
/// )?;
/// assert!(report.states > 3);
/// # Ok::<(), quickcache_fs::CrashFailure>(())
/// ```
#[derive(Debug, Clone)]
pub struct CrashTest {
    seed: u64,
    max_points: Option<usize>,
    only: Option<u64>,
}

impl CrashTest {
    /// A test drawing everything (crash modes, sampled points) from `seed`; every
    /// operation is a crash point.
    pub fn new(seed: u64) -> CrashTest {
        CrashTest {
            seed,
            max_points: None,
            only: None,
        }
    }

    /// At most `n` crash points, sampled from the seed (the last operation always
    /// among them), for workloads too long to crash at every operation.
    pub fn sample(mut self, n: usize) -> CrashTest {
        self.max_points = Some(n);
        self
    }

    /// Only the crash at operation `op`: the replay of a [`CrashFailure`].
    pub fn only(mut self, op: u64) -> CrashTest {
        self.only = Some(op);
        self
    }

    /// The crash points this test will visit after a crash-free run of `total`
    /// operations, ascending.
    pub fn points(&self, total: u64) -> Vec<u64> {
        if let Some(op) = self.only {
            return vec![op];
        }
        match self.max_points {
            Some(max) if total >= max as u64 => {
                let mut rng = Rng::new(self.seed ^ 0xC4A5);
                let mut points: Vec<u64> = (1..max).map(|_| rng.below(total)).collect();
                points.push(total);
                points.sort_unstable();
                points.dedup();
                points
            }
            _ => (0..=total).collect(),
        }
    }

    /// Runs `workload` once crash-free, then once per crash point, and calls `check`
    /// on each disk a power loss leaves. Stops at the first failed check.
    ///
    /// # Errors
    /// The first crash state whose check failed (its message names the replay), or
    /// the crash-free run's own failure, reported as a check at the last operation.
    pub fn run<S>(
        &self,
        workload: impl Fn(&SimFs) -> S,
        check: impl Fn(&SimFs, &S) -> Result<(), String>,
    ) -> Result<CrashReport, CrashFailure> {
        let clean = SimFs::new(self.seed);
        let outcome = workload(&clean);
        let total = clean.op_count();
        let mut report = CrashReport {
            ops: total,
            states: 0,
        };
        let after_all = CrashPoint {
            seed: self.seed,
            op: total,
            mode: CrashMode::DropUnsynced,
        };
        check(&clean.after_kill(), &outcome).map_err(|message| CrashFailure {
            point: after_all,
            message: format!("the crash-free run: {message}"),
        })?;
        for op in self.points(total) {
            let disk = SimFs::new(self.seed.wrapping_mul(31).wrapping_add(op));
            disk.set_faults(FaultPlan::new().fail_from(op, Fault::Io));
            let outcome = workload(&disk);
            // A function of the seed and the point alone, so `only` replays it.
            let mode = match Rng::new(self.seed ^ op.rotate_left(17)).below(4) {
                0 => CrashMode::DropUnsynced,
                1 => CrashMode::Torn,
                2 => CrashMode::TornWithGarbage,
                _ => CrashMode::PagesInAnyOrder,
            };
            let point = CrashPoint {
                seed: self.seed,
                op,
                mode,
            };
            let after = disk.crash_with(mode);
            check(&after, &outcome).map_err(|message| CrashFailure { point, message })?;
            report.states += 1;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::FileSystem;

    /// Writes a file; claims it durable after `sync` (or without syncing, a bug).
    fn write(fs: &SimFs, sync: bool) -> bool {
        let run = || -> crate::Result<()> {
            let mut f = fs.create(Path::new("/f"))?;
            f.append(b"data")?;
            if sync {
                f.sync_data()?;
                fs.sync_dir(Path::new("/"))?;
            }
            Ok(())
        };
        run().is_ok()
    }

    fn check(disk: &SimFs, acknowledged: &bool) -> Result<(), String> {
        if !acknowledged {
            return Ok(());
        }
        match disk.read_file(Path::new("/f")) {
            Ok(bytes) if bytes == b"data" => Ok(()),
            other => Err(format!("acknowledged, then {other:?}")),
        }
    }

    #[test]
    fn a_durability_bug_is_found_and_its_point_replays() {
        let failure = CrashTest::new(3)
            .run(|fs| write(fs, false), check)
            .unwrap_err();
        assert!(
            failure
                .to_string()
                .contains("replay with CrashTest::new(3)")
        );
        let again = CrashTest::new(3)
            .only(failure.point.op)
            .run(|fs| write(fs, false), check)
            .unwrap_err();
        assert_eq!(again.point, failure.point);
    }

    #[test]
    fn synced_writes_pass_every_crash_point() {
        let report = CrashTest::new(3).run(|fs| write(fs, true), check).unwrap();
        assert_eq!(report.states, report.ops + 1);
    }

    #[test]
    fn a_sample_keeps_the_last_operation() {
        let points = CrashTest::new(9).sample(5).points(1000);
        assert!(points.len() <= 5 && points.contains(&1000), "{points:?}");
        assert_eq!(CrashTest::new(9).points(3), [0, 1, 2, 3]);
        assert_eq!(CrashTest::new(9).only(7).points(3), [7]);
    }
}
