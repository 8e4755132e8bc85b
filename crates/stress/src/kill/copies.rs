//! The checkpoints a killed child took: each opens and holds exactly the writes
//! acknowledged before its call; the one the kill interrupted opens as that too, or
//! not at all (`is_no_database`), never as a damaged database.

use std::path::Path;

use quickcache::{Db, Options};

use crate::check::{Violation, describe_difference, read_spread};
use crate::workload::{Model, Op, checkpoint_dir, side_dir};

/// Checks every [`Op::Checkpoint`] among this cycle's `ops` (the first `acked`
/// acknowledged), `start` being the contents the cycle began with, then removes the
/// side directory (checkpoints, tables ingested). Returns how many it opened.
pub(super) fn check_checkpoints(
    dir: &Path,
    options: &Options,
    keys: &[Vec<u8>],
    start: &Model,
    ops: &[Op],
    acked: usize,
) -> Result<u64, Violation> {
    let mut model = start.clone();
    let mut opened = 0;
    for (j, op) in ops.iter().enumerate() {
        if let Op::Checkpoint { id } = op {
            let at = |e: String| format!("checkpoint {id} (op {j}): {e}");
            let copy = checkpoint_dir(dir, *id);
            let options = Options {
                create_if_missing: false,
                ..options.clone()
            };
            match Db::open_with(&copy, options) {
                Ok(db) => {
                    let got = read_spread(&db, keys).map_err(at)?;
                    db.close().map_err(|e| at(format!("close: {e}")))?;
                    if got != model {
                        let diff = describe_difference(&model, &got);
                        return Err(at(format!("the copy is not the state at its call: {diff}")));
                    }
                    opened += 1;
                }
                Err(e) if j >= acked && e.is_no_database() => {}
                Err(e) => return Err(at(format!("the copy does not open: {e}"))),
            }
        }
        op.apply(&mut model);
    }
    let side = side_dir(dir);
    if side.exists() {
        std::fs::remove_dir_all(&side).map_err(|e| format!("{}: {e}", side.display()))?;
    }
    Ok(opened)
}
