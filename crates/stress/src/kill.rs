//! kill -9 on the real file system.
//!
//! A child process opens the database and runs a random workload forever, appending
//! to an oracle file outside the database the intent of each operation before the
//! call (`I <cycle> <index> <op>`) and its acknowledgement after it returns
//! (`A <cycle> <index>`); each line is one `write(2)`, so it survives the kill. The
//! parent kills it with SIGKILL at a random moment (one kill in ten while it is still
//! opening, that is recovering the previous cycle's crash), then checks:
//!
//! - `verify` finds no damage in what the killed process left;
//! - the database opens, and forward scans, reverse scans and gets agree;
//! - the contents are the previous cycle's plus a prefix of this cycle's issued
//!   operations holding every acknowledged one that survives a process crash (every
//!   level but `Buffered`; a process crash loses nothing handed to the OS), so every
//!   batch, transaction and ingest is all or nothing and nothing is invented;
//! - every checkpoint the child took opens and holds exactly the writes before its
//!   call; one the kill interrupted opens as that too or not at all (`copies.rs`).
//!
//! Besides writes the workload commits transactions, takes checkpoints and ingests
//! tables (`Shape::features_one_in`), in the default keyspace and two others. One
//! cycle in twenty the child repairs the database instead and is killed while it does
//! (`repair.rs`); the check is the same, with no operations issued.
//!
//! The database and the oracle carry over from cycle to cycle.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use quickcache::{Db, Options};

use crate::check::{Violation, describe_difference, read_spread};
use crate::rng::Rng;
use crate::workload::{Model, Op, Shape, draw, key};

mod copies;
mod repair;

/// Environment variables that carry a child's task.
pub const ENV_DIR: &str = "QUICKCACHE_KILL_DIR";
const ENV_ORACLE: &str = "QUICKCACHE_KILL_ORACLE";
const ENV_SEED: &str = "QUICKCACHE_KILL_SEED";
const ENV_CYCLE: &str = "QUICKCACHE_KILL_CYCLE";

/// What the child prints on stdout when it starts opening, and once it has opened.
const OPENING: &str = "kill-child: opening";
const OPENED: &str = "kill-child: opened";

/// Options of the killed database: small memtables, tables and WAL segments, so a
/// cycle of a few hundred milliseconds rotates, flushes and compacts.
pub fn options() -> Options {
    Options {
        memtable_size: 64 << 10,
        l0_compaction_trigger: 2,
        table_size: 64 << 10,
        base_level_size: 256 << 10,
        wal_segment_size: 64 << 10,
        ..Options::default()
    }
}

fn shape() -> Shape {
    Shape {
        keys: 2000,
        max_value: 300,
        large_one_in: 400,
        synced_one_in: 10,
        buffered_one_in: 10,
        maintenance_one_in: 200,
        features_one_in: 40,
    }
}

/// Cycle numbers are spread apart in value tags, so no two cycles write one value.
const TAGS_PER_CYCLE: u64 = 1 << 24;

/// The child's body, if this process was started as a kill child (its environment
/// names the task); it runs until killed and returns only on an error.
pub fn child_from_env() -> Option<Violation> {
    let dir = std::env::var_os(ENV_DIR)?;
    let oracle = std::env::var_os(ENV_ORACLE)?;
    let number = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let (Some(seed), Some(cycle)) = (number(ENV_SEED), number(ENV_CYCLE)) else {
        return Some("kill child: seed or cycle missing".into());
    };
    if std::env::var_os(repair::ENV_REPAIR).is_some() {
        return Some(repair::child(Path::new(&dir)));
    }
    Some(child(Path::new(&dir), Path::new(&oracle), seed, cycle).unwrap_or_else(|e| e))
}

fn child(dir: &Path, oracle: &Path, seed: u64, cycle: u64) -> Result<Violation, Violation> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(oracle)
        .map_err(|e| format!("oracle {}: {e}", oracle.display()))?;
    let mut say = |line: String| {
        // One write(2) per line: whole in the file even if killed right after.
        log.write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("oracle write: {e}"))
    };
    println!("{OPENING}");
    let db = Db::open_with(dir, options()).map_err(|e| format!("open: {e}"))?;
    println!("{OPENED}");
    let mut rng = Rng::new(seed ^ cycle.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let shape = shape();
    for i in 0.. {
        let op = draw(&mut rng, &shape, cycle * TAGS_PER_CYCLE + i);
        op.prepare(&db)
            .map_err(|e| format!("cycle {cycle} op {i}: {e}"))?;
        say(format!("I {cycle} {i} {}", op.to_line()))?;
        op.run_spread(&db)
            .map_err(|e| format!("cycle {cycle} op {i}: {e}"))?;
        say(format!("A {cycle} {i}"))?;
    }
    Ok("unreachable".into())
}

/// One kill-and-check cycle's parameters and the database it works on.
#[derive(Debug)]
pub struct KillRun {
    /// The database directory.
    pub dir: PathBuf,
    /// The oracle file (outside `dir`).
    pub oracle: PathBuf,
    /// The run's seed: workloads and kill moments derive from it.
    pub seed: u64,
    /// The contents the previous cycle left (checked).
    pub model: Model,
    /// Kills that hit the child while it was still opening.
    pub kills_during_open: u64,
    /// Cycles whose child was repairing the database when killed.
    pub kills_during_repair: u64,
    /// Operations acknowledged by killed children, in total.
    pub acknowledged: u64,
    /// Checkpoints taken by killed children, opened and checked.
    pub checkpoints: u64,
    /// Transactions and ingests acknowledged by killed children.
    pub transactions_and_ingests: u64,
}

impl KillRun {
    /// A run on a fresh database in `dir`, with the oracle at `oracle`.
    pub fn new(dir: PathBuf, oracle: PathBuf, seed: u64) -> KillRun {
        KillRun {
            dir,
            oracle,
            seed,
            model: Model::new(),
            kills_during_open: 0,
            kills_during_repair: 0,
            acknowledged: 0,
            checkpoints: 0,
            transactions_and_ingests: 0,
        }
    }

    /// The environment a child of `cycle` needs.
    pub fn child_env(&self, cycle: u64) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (ENV_DIR, self.dir.display().to_string()),
            (ENV_ORACLE, self.oracle.display().to_string()),
            (ENV_SEED, self.seed.to_string()),
            (ENV_CYCLE, cycle.to_string()),
        ];
        if repair::repairs(self.seed, cycle) {
            env.push((repair::ENV_REPAIR, "1".into()));
        }
        env
    }

    /// Runs cycle `cycle`: `spawn` starts a child (with [`KillRun::child_env`] and
    /// stdout piped) that calls [`child_from_env`]; it is killed and the database
    /// checked.
    ///
    /// # Errors
    /// The child could not be run, or the database broke a guarantee.
    pub fn cycle(
        &mut self,
        cycle: u64,
        spawn: &mut dyn FnMut(&KillRun, u64) -> std::io::Result<Child>,
    ) -> Result<(), Violation> {
        let seed = self.seed;
        let at = |e: String| format!("seed {seed}, cycle {cycle}: {e}");
        let mut rng = Rng::new(self.seed.wrapping_mul(7919) ^ cycle);
        let kill_at = if repair::repairs(seed, cycle) {
            KillAt::Repairing
        } else if rng.one_in(10) {
            KillAt::Opening
        } else {
            KillAt::Running
        };
        let mut child = spawn(self, cycle).map_err(|e| at(format!("spawn: {e}")))?;
        let opened = wait_and_kill(&mut child, kill_at, &mut rng).map_err(at)?;
        match kill_at {
            KillAt::Repairing => self.kills_during_repair += 1,
            _ if !opened => self.kills_during_open += 1,
            _ => {}
        }
        self.check(cycle).map_err(at)
    }

    fn check(&mut self, cycle: u64) -> Result<(), Violation> {
        let report = quickcache::verify(&self.dir).map_err(|e| format!("verify: {e}"))?;
        if !report.is_ok() {
            return Err(format!("verify after the kill: {:?}", report.damaged));
        }
        drop_torn_line(&self.oracle)?;
        let (ops, acked) = read_oracle(&self.oracle, cycle)?;
        let db = Db::open_with(&self.dir, options())
            .map_err(|e| format!("reopen after the kill: {e}"))?;
        let keys: Vec<Vec<u8>> = (0..shape().keys).map(key).collect();
        let recovered = read_spread(&db, &keys)?;
        db.close().map_err(|e| format!("close: {e}"))?;
        self.checkpoints +=
            copies::check_checkpoints(&self.dir, &options(), &keys, &self.model, &ops, acked)?;
        let least = ops
            .iter()
            .enumerate()
            .take(acked)
            .filter(|(_, op)| op.survives_process_crash())
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(0);
        let mut model = self.model.clone();
        for (n, op) in std::iter::once(None)
            .chain(ops.iter().map(Some))
            .enumerate()
        {
            if let Some(op) = op {
                op.apply(&mut model);
            }
            if n >= least && model == recovered {
                let newer = |op: &&Op| matches!(op, Op::Transaction { .. } | Op::Ingest { .. });
                self.transactions_and_ingests +=
                    ops.iter().take(acked).filter(newer).count() as u64;
                self.model = recovered;
                self.acknowledged += acked as u64;
                return Ok(());
            }
        }
        let mut want = self.model.clone();
        ops.iter().take(least).for_each(|op| op.apply(&mut want));
        Err(format!(
            "recovered state is no prefix of the {} issued operations holding the {least} \
             that must survive ({acked} acknowledged): against that prefix, {}",
            ops.len(),
            describe_difference(&want, &recovered)
        ))
    }
}

/// Where in its life a cycle's child is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillAt {
    /// While it opens (recovers the previous kill).
    Opening,
    /// While it runs its workload.
    Running,
    /// While it repairs the database (`repair.rs`).
    Repairing,
}

/// Waits until the child reports the start of the phase `kill_at` names, then a
/// random moment, and kills it. Returns whether it had opened.
fn wait_and_kill(child: &mut Child, kill_at: KillAt, rng: &mut Rng) -> Result<bool, Violation> {
    let stdout = child
        .stdout
        .take()
        .ok_or("the child's stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let wanted = match kill_at {
        KillAt::Opening => OPENING,
        KillAt::Running => OPENED,
        KillAt::Repairing => repair::REPAIRING,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut opened = false;
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("child stdout: {e}"))?;
        // The test harness may print its own words before ours on the same line.
        opened |= line.ends_with(OPENED);
        if line.ends_with(wanted) {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
    }
    let pause = match kill_at {
        KillAt::Opening => Duration::from_micros(rng.below(3000)),
        KillAt::Running => Duration::from_millis(rng.below(120)),
        KillAt::Repairing => Duration::from_micros(rng.below(40_000)),
    };
    std::thread::sleep(pause);
    let _ = child.kill();
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    if status.success() || status.code().is_some() {
        return Err(format!(
            "the child ended on its own ({status}) instead of being killed"
        ));
    }
    // Whatever the child printed before the kill tells whether it had opened.
    for line in lines.map_while(Result::ok) {
        opened |= line.ends_with(OPENED);
    }
    Ok(opened)
}

/// This cycle's issued operations and how many of the first were acknowledged.
/// Cuts a line the killed child was writing off the end of the oracle. One
/// `write(2)` per line is not enough: SIGKILL can stop a write between two pages of
/// the page cache, leaving a line's start without its newline, and the next cycle's
/// first line would continue it. A torn intent is an operation that never began; a
/// torn acknowledgement one that may or may not have happened, which the check
/// already allows for every unacknowledged intent.
fn drop_torn_line(path: &Path) -> Result<(), Violation> {
    let err = |e: std::io::Error| format!("oracle: {e}");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(err)?;
    // Only the last byte is read in the usual case: the oracle of a long run is
    // hundreds of megabytes, and `read_oracle` reads it whole once per cycle already.
    let len = file.metadata().map_err(err)?.len();
    let mut last = [0u8; 1];
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1)).map_err(err)?;
    file.read_exact(&mut last).map_err(err)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(err)?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)
        .map_err(|e| format!("oracle: cutting a torn line: {e}"))
}

fn read_oracle(path: &Path, cycle: u64) -> Result<(Vec<Op>, usize), Violation> {
    let file = File::open(path).map_err(|e| format!("oracle: {e}"))?;
    let (mut ops, mut acked) = (Vec::new(), 0);
    let prefix_i = format!("I {cycle} ");
    let prefix_a = format!("A {cycle} ");
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("oracle: {e}"))?;
        if let Some(rest) = line.strip_prefix(&prefix_i) {
            let (index, op) = rest.split_once(' ').ok_or("oracle: bad intent line")?;
            if index.parse::<usize>().ok() != Some(ops.len()) {
                return Err(format!("oracle: intent {index} out of order"));
            }
            ops.push(Op::from_line(op).ok_or_else(|| format!("oracle: bad op {op:?}"))?);
        } else if let Some(index) = line.strip_prefix(&prefix_a) {
            if index.parse::<usize>().ok() != Some(acked) {
                return Err(format!("oracle: acknowledgement {index} out of order"));
            }
            acked += 1;
        }
    }
    Ok((ops, acked))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The torn line the kill loop met (seed 4001, cycle 47): an intent cut inside
    /// its key, then the next cycle's first intent on the same line.
    #[test]
    fn a_torn_last_line_is_cut_before_the_next_cycle_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oracle");
        std::fs::write(
            &path,
            "I 46 0 W o P k00033 1 22\nA 46 0\nI 46 1 W o R k00379 k0038",
        )
        .unwrap();
        drop_torn_line(&path).unwrap();
        let mut log = OpenOptions::new().append(true).open(&path).unwrap();
        log.write_all(b"I 47 0 W o P k00634 2 213\nA 47 0\n")
            .unwrap();
        let (ops, acked) = read_oracle(&path, 46).unwrap();
        assert_eq!((ops.len(), acked), (1, 1));
        let (ops, acked) = read_oracle(&path, 47).unwrap();
        assert_eq!((ops.len(), acked), (1, 1));
        drop_torn_line(&path).unwrap();
        assert!(std::fs::read(&path).unwrap().ends_with(b"A 47 0\n"));
    }
}
