//! The database the repair suites (`repair_io_faults.rs`, `repair_power_loss.rs`)
//! repair: tables and WAL records of three keyspaces, range deletes and puts with a
//! time to live, closed cleanly.

use std::sync::Arc;

use quickcache::Db;
use quickcache::Durability;
use quickcache::fs::SimFs;
use quickcache_stress::power::{DIR, small_options};
use quickcache_stress::workload::{Edit, Model, Op, key};

/// The keys the suites read back: every key the database was written with.
pub(crate) fn keys() -> Vec<Vec<u8>> {
    (0..64).map(key).collect()
}

/// Builds the database in `DIR` on `fs` and returns what it holds.
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
pub(crate) fn build(fs: &Arc<SimFs>) -> Model {
    let db = Db::open_with(DIR, small_options(fs)).unwrap();
    let mut model = Model::new();
    for i in 0..60u64 {
        let k = key(i % 50);
        let edit = match i % 7 {
            3 => Edit::DeleteRange {
                start: k,
                end: key(i % 50 + 4),
            },
            5 => Edit::PutTtl {
                key: k,
                tag: i,
                len: 90,
                expired: i % 2 == 0,
            },
            _ => Edit::Put {
                key: k,
                tag: i,
                len: 120,
            },
        };
        let op = Op::Write {
            edits: vec![edit],
            durability: Durability::Os,
        };
        op.run_spread(&db).unwrap();
        op.apply(&mut model);
        if i == 40 {
            db.flush().unwrap();
        }
    }
    db.close().unwrap();
    model
}
