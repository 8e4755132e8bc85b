//! The fuzz program's checkpoint and ingest steps, checked against the models: a
//! checkpoint opens as a database of its own holding exactly the current state of
//! every keyspace; an ingest of one table into one keyspace reads as puts newer than
//! everything before, and is durable when it returns, with every write before it.

use std::path::Path;

use quickcache::fs::FileSystem;
use quickcache::{Db, Keyspace, Options};
use quickcache_sstable::{TableBuilder, TableOptions};

use super::{NAMES, Run, expect_state, key, keyspace};
use crate::check::Violation;
use crate::power::small_options;
use crate::workload::value;

impl Run {
    /// Takes checkpoint number `n` of the open database, opens it and compares.
    pub(super) fn checkpoint(&mut self, n: u64) -> Result<(), Violation> {
        let dest = format!("/cp-{n}");
        let (db, _) = self.db()?;
        db.checkpoint(&dest)
            .map_err(|e| format!("checkpoint {dest}: {e}"))?;
        let fs = std::sync::Arc::new(self.fs.clone());
        let options = Options {
            create_if_missing: false,
            ..small_options(&fs)
        };
        let copy = Db::open_with(&dest, options).map_err(|e| format!("open {dest}: {e}"))?;
        let keyspaces: Vec<Keyspace> = NAMES
            .iter()
            .map(|n| {
                copy.keyspace(n)
                    .map_err(|e| format!("{dest}: keyspace {n}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let copy = (copy, keyspaces);
        expect_state(&copy, self.state()).map_err(|e| format!("checkpoint {dest}: {e}"))?;
        copy.0.close().map_err(|e| format!("close {dest}: {e}"))
    }

    /// Ingests a table of up to three keys starting at key byte `first` (all of its
    /// keyspace), `len`-byte values.
    pub(super) fn ingest(
        &mut self,
        n: u64,
        first: u8,
        count: u8,
        len: usize,
    ) -> Result<(), Violation> {
        let ks = keyspace(first);
        // Key bytes `first`, `first + 1`, ... stay in one keyspace while the key
        // number (`b % 24`) does not wrap, and end at byte 255 (a saturating add
        // repeated key 255, and the table builder rightly refused the duplicate).
        let keys: Vec<Vec<u8>> = (0..1 + count % 3)
            .map_while(|i| first.checked_add(i))
            .filter(|&b| keyspace(b) == ks && b % 24 >= first % 24)
            .map(key)
            .collect();
        let path = format!("/in-{n}.sst");
        let built = (|| {
            let mut b = TableBuilder::new(&self.fs, Path::new(&path), TableOptions::default())?;
            for k in &keys {
                self.tags += 1;
                b.add_plain(k, &value(self.tags, len))?;
            }
            b.finish().map(|_| ())
        })();
        built.map_err(|e| format!("building {path}: {e}"))?;
        let mut state = self.state().clone();
        let mut tag = self.tags - keys.len() as u64;
        for k in &keys {
            tag += 1;
            state[ks].insert(k.clone(), value(tag, len));
        }
        let (db, keyspaces) = self.db()?;
        let done = match ks.checked_sub(1).and_then(|i| keyspaces.get(i)) {
            Some(k) => k.ingest([&path]).map(|_| ()),
            None => db.ingest([&path]).map(|_| ()),
        };
        done.map_err(|e| format!("ingest {path}: {e}"))?;
        let _ = self.fs.remove(Path::new(&path));
        // Durable on return, with every write before it (the WAL is synced first).
        self.states = vec![state];
        Ok(())
    }
}
