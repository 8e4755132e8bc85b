//! The read path: point lookups through memtables newest first, then the tree, and
//! the snapshot views iterators read.

use std::ops::Bound;

use quickcache_memtable::Lookup;
use quickcache_sstable::SeqNo;

use crate::error::{Error, Result};
use crate::inner::Inner;
use crate::iter::View;
use crate::{Iter, Value};

impl Inner {
    /// The newest value of `key` at `snapshot`: memtables newest first, then the tree.
    pub(crate) fn get_at(&self, key: &[u8], snapshot: SeqNo) -> Result<Option<Value>> {
        // Memtables before the version: see `SuperVersion`.
        let memtables = self.current_memtables();
        match memtables.active.get(key, snapshot) {
            Some(Lookup::Value(v)) => return Ok(Some(Value::owned(v.value().to_vec()))),
            Some(Lookup::Deleted(_)) => return Ok(None),
            None => {}
        }
        for frozen in &memtables.frozen {
            match frozen.mem.get(key, snapshot) {
                Some(Lookup::Value(v)) => return Ok(Some(Value::owned(v.value().to_vec()))),
                Some(Lookup::Deleted(_)) => return Ok(None),
                None => {}
            }
        }
        let version = self.set.current();
        let entry = version.get(key, snapshot).map_err(|source| Error::Tree {
            operation: "reading a key",
            path: self.dir.clone(),
            source: Box::new(source),
        })?;
        Ok(entry.and_then(|e| e.into_value()).map(Value::mapped))
    }

    pub(crate) fn iter_at(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        snapshot: SeqNo,
    ) -> Iter {
        let memtables = self.current_memtables();
        let version = self.set.current();
        let view = View {
            memtables,
            version,
            snapshot,
            dir: self.dir.clone(),
        };
        Iter::new(view, lower, upper)
    }
}
