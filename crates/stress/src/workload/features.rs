//! The newer operations of a workload: transactions, checkpoints and ingests (issue
//! 23): how they are drawn, prepared and run.

use std::path::{Path, PathBuf};

use quickcache::{Db, Keyspace};
use quickcache_sstable::{TableBuilder, TableOptions};

use super::{Edit, KEYSPACES, Op, Shape, key, keyspace_of, value};
use crate::check::Violation;
use crate::rng::Rng;

/// The directory beside the database at `db_dir` where checkpoints and tables to
/// ingest go: `<db_dir>.side`.
pub fn side_dir(db_dir: &Path) -> PathBuf {
    let mut name = db_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".side");
    db_dir.with_file_name(name)
}

/// Where [`Op::Checkpoint`] `id` of the database at `db_dir` goes.
pub fn checkpoint_dir(db_dir: &Path, id: u64) -> PathBuf {
    side_dir(db_dir).join(format!("cp-{id}"))
}

fn ingest_file(db_dir: &Path, id: u64) -> PathBuf {
    side_dir(db_dir).join(format!("in-{id}.sst"))
}

/// Draws a transaction, a checkpoint or an ingest, as operation number `index`.
pub(super) fn draw(rng: &mut Rng, shape: &Shape, index: u64) -> Op {
    match rng.below(3) {
        0 => {
            let edits = (0..1 + rng.below(4))
                .map(|e| {
                    let key = key(rng.below(shape.keys));
                    if rng.one_in(4) {
                        Edit::Delete { key }
                    } else {
                        let len = 1 + rng.below(shape.max_value as u64) as usize;
                        Edit::Put {
                            key,
                            tag: index * 64 + e,
                            len,
                        }
                    }
                })
                .collect();
            Op::Transaction { edits }
        }
        1 => Op::Checkpoint { id: index },
        _ => {
            // Ascending keys of one keyspace: numbers with the same last digit end in
            // the same byte ([`keyspace_of`]).
            let step = 10 * (1 + rng.below(4));
            let first = rng.below(shape.keys);
            let entries = (0..1 + rng.below(12))
                .map(|i| first + i * step)
                .take_while(|&n| n < shape.keys)
                .map(|n| Edit::Put {
                    key: key(n),
                    tag: index * 64 + n % 64,
                    len: 1 + rng.below(shape.max_value as u64) as usize,
                })
                .collect();
            Op::Ingest { id: index, entries }
        }
    }
}

impl Op {
    /// What must exist before the operation's intent is recorded: the table an
    /// [`Op::Ingest`] ingests, and the side directory ([`side_dir`]).
    ///
    /// # Errors
    /// The directory or table could not be written.
    pub fn prepare(&self, db: &Db) -> Result<(), Violation> {
        let (Op::Checkpoint { .. } | Op::Ingest { .. }) = self else {
            return Ok(());
        };
        // On the database's file system: the real one, or a simulated disk.
        let fs = db.options().fs.as_ref();
        let side = side_dir(db.path());
        fs.create_dir_all(&side)
            .map_err(|e| format!("{}: {e}", side.display()))?;
        let Op::Ingest { id, entries } = self else {
            return Ok(());
        };
        let path = ingest_file(db.path(), *id);
        let built = (|| {
            let mut builder = TableBuilder::new(fs, &path, TableOptions::default())?;
            for edit in entries {
                if let Edit::Put { key, tag, len } = edit {
                    builder.add_plain(key, &value(*tag, *len))?;
                }
            }
            builder.finish().map(|_| ())
        })();
        built.map_err(|e| format!("building {}: {e}", path.display()))
    }
}

/// Runs a newer operation (or, for the older ones, [`Op::run`]); with `spread`, in
/// the keyspaces [`keyspace_of`] names.
pub(super) fn run(op: &Op, db: &Db, spread: bool) -> quickcache::Result<()> {
    let keyspace = |key: &[u8]| -> quickcache::Result<Option<Keyspace>> {
        match keyspace_of(key).and_then(|i| KEYSPACES.get(i)) {
            Some(name) if spread => db.keyspace(name).map(Some),
            _ => Ok(None),
        }
    };
    match op {
        Op::Transaction { edits } => {
            let mut tx = db.transaction();
            for edit in edits {
                let ks = keyspace(edit.key())?;
                match (edit, &ks) {
                    (Edit::Put { key, tag, len }, None) => tx.put(key, value(*tag, *len)),
                    (Edit::Put { key, tag, len }, Some(k)) => tx.put_in(k, key, value(*tag, *len)),
                    (_, None) => tx.delete(edit.key()),
                    (_, Some(k)) => tx.delete_in(k, edit.key()),
                };
            }
            tx.commit()
        }
        Op::Checkpoint { id } => db.checkpoint(checkpoint_dir(db.path(), *id)).map(|_| ()),
        Op::Ingest { id, entries } => {
            let file = ingest_file(db.path(), *id);
            let first = entries.first().map(Edit::key).unwrap_or_default();
            match keyspace(first)? {
                Some(ks) => ks.ingest([file]).map(|_| ()),
                None => db.ingest([file]).map(|_| ()),
            }
        }
        Op::Write { .. } | Op::Sync | Op::Flush | Op::Compact => op.run(db),
    }
}
