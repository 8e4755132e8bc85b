//! What RocksDB's info LOG says about its flushes and compactions: the
//! `EVENT_LOG_v1` lines `flush_finished`, `compaction_started` (input levels and
//! bytes) and `compaction_finished` (output level and bytes), and "Moved #" lines
//! (trivial moves).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::{MIB, Result};

/// Figures read from the LOG.
#[derive(Debug, Default)]
pub(crate) struct LogFigures {
    /// Compaction output bytes per output level, L1 first.
    pub(crate) per_level: Vec<u64>,
    /// Flushes.
    pub(crate) flushes: u64,
    /// Per "Lx->Ly": compactions, input bytes, output bytes.
    pub(crate) kinds: BTreeMap<String, (u64, u64, u64)>,
    /// Trivial moves.
    pub(crate) moves: u64,
}

fn number_after(line: &str, field: &str) -> Option<u64> {
    let rest = &line[line.find(field)? + field.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The shallowest input level named by `"files_L<n>"` in a `compaction_started` line.
fn first_input_level(line: &str) -> Option<u64> {
    (0..7).find(|l| line.contains(&format!("\"files_L{l}\"")))
}

pub(crate) fn read(dir: &Path) -> Result<LogFigures> {
    let log = std::fs::read_to_string(dir.join("LOG"))?;
    let mut out = LogFigures {
        per_level: vec![0; 6],
        ..LogFigures::default()
    };
    let mut started: HashMap<u64, (u64, u64)> = HashMap::new();
    for line in log.lines() {
        if line.contains("] Moved #") {
            out.moves += 1;
        }
        if line.contains("\"event\": \"flush_finished\"") {
            out.flushes += 1;
        }
        let job = number_after(line, "\"job\": ");
        if line.contains("\"event\": \"compaction_started\"") {
            let from = first_input_level(line).ok_or("no input level")?;
            let input = number_after(line, "\"input_data_size\": ").ok_or("no input size")?;
            started.insert(job.ok_or("no job")?, (from, input));
        }
        if line.contains("\"event\": \"compaction_finished\"") {
            let level = number_after(line, "\"output_level\": ").ok_or("no output_level")?;
            let bytes = number_after(line, "\"total_output_size\": ").ok_or("no output size")?;
            let slot = usize::try_from(level)?
                .checked_sub(1)
                .ok_or("output into L0")?;
            if let Some(b) = out.per_level.get_mut(slot) {
                *b += bytes;
            }
            let (from, input) = started.remove(&job.ok_or("no job")?).unwrap_or_default();
            let kind = out.kinds.entry(format!("L{from}->L{level}")).or_default();
            kind.0 += 1;
            kind.1 += input;
            kind.2 += bytes;
        }
    }
    Ok(out)
}

impl LogFigures {
    /// One line per compaction kind.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!("trivial moves {}; compactions:", self.moves);
        for (kind, (n, input, output)) in &self.kinds {
            let _ = write!(
                s,
                " {kind} {n}x in {:.1} out {:.1} MiB;",
                *input as f64 / MIB as f64,
                *output as f64 / MIB as f64
            );
        }
        s
    }
}
