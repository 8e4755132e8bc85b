//! Reads of the state machine's keys (the live state keyspace), for serving gets
//! and scans.

use std::ops::Bound;
use std::sync::Arc;

use snafu::ResultExt;

use crate::error::{DbSnafu, Result};
use crate::store::Spaces;

/// Reads this node's copy of the replicated keys. Made by [`crate::Store::reader`].
///
/// It reads what this node has applied: whether that is linearizable is up to the
/// caller (a leader confirms it first with openraft's read index). Each get or scan
/// reads one state: it takes the live keyspace, and makes its iterator, under the lock
/// an install switches keyspaces under, so it reads all of the old state or all of
/// the new, never a dropped keyspace.
#[derive(Debug, Clone)]
pub struct KvReader {
    spaces: Arc<Spaces>,
}

/// Which way a scan walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Ascending key order.
    #[default]
    Forward,
    /// Descending key order.
    Reverse,
}

impl KvReader {
    pub(crate) fn new(spaces: Arc<Spaces>) -> KvReader {
        KvReader { spaces }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.spaces.state().get(key).context(DbSnafu {
            operation: "reading a key",
        })?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// Up to `limit` pairs whose keys are in `(start, end)`, walking in `direction`.
    pub fn scan(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        limit: usize,
        direction: Direction,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // The iterator pins what it reads once made: the lock need not outlive it.
        let range = self.spaces.state().range((start, end));
        let pairs: Box<dyn Iterator<Item = _>> = match direction {
            Direction::Forward => Box::new(range),
            Direction::Reverse => Box::new(range.rev()),
        };
        pairs
            .take(limit)
            .map(|kv| {
                let (key, value) = kv.context(DbSnafu {
                    operation: "scanning keys",
                })?;
                Ok((key.to_vec(), value.to_vec()))
            })
            .collect()
    }
}
