//! Where an ingested table joins the tree: a pure choice over a version.
//!
//! An ingested table is given a sequence number above every write in the tree, so it
//! must sit above every table it overlaps: a read goes through the levels top down
//! and takes the first version of a key it meets. It goes as deep as that allows (as
//! RocksDB's `IngestExternalFile` does), so that it costs no compaction later: the
//! deepest level such that neither that level nor any above it holds a table
//! overlapping its key range, nor is receiving the output of a running compaction
//! over that range. A table overlapping something in L0 joins L0, whose tables may
//! overlap and are read newest first.

use crate::{Busy, LEVELS, Level, Version};

/// The level an ingested table spanning user keys `[lo, hi]` joins in `version`,
/// while the compactions in `busy` run.
pub fn ingest_level(version: &Version, lo: &[u8], hi: &[u8], busy: &Busy) -> Level {
    let mut chosen = Level::L0;
    for n in 0..LEVELS {
        let Some(level) = Level::new(n) else { break };
        let overlaps = version
            .level(level)
            .iter()
            .any(|t| t.info().overlaps(lo, hi));
        let receiving = (busy.outputs.iter())
            .any(|(l, a, b)| *l == level && a.as_slice() <= hi && lo <= b.as_slice());
        if overlaps || receiving {
            break;
        }
        chosen = level;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(tables: &[(usize, &str, &str)]) -> Version {
        let rows: Vec<_> = (tables.iter().enumerate())
            .map(|(i, &(level, lo, hi))| (level, i as u64 + 1, lo, hi, 100, 1))
            .collect();
        crate::testing::version_of(&rows)
    }

    #[test]
    fn an_empty_tree_takes_it_at_the_bottom() {
        let v = version(&[]);
        assert_eq!(
            ingest_level(&v, b"a", b"z", &Busy::default()),
            Level::BOTTOM
        );
    }

    #[test]
    fn it_stops_above_the_first_level_it_overlaps() {
        let v = version(&[(3, "a", "c"), (5, "m", "p")]);
        let busy = Busy::default();
        assert_eq!(ingest_level(&v, b"b", b"b", &busy), Level::new(2).unwrap());
        assert_eq!(ingest_level(&v, b"n", b"z", &busy), Level::new(4).unwrap());
        assert_eq!(ingest_level(&v, b"d", b"l", &busy), Level::BOTTOM);
    }

    #[test]
    fn overlap_in_l0_keeps_it_in_l0() {
        let v = version(&[(0, "a", "c")]);
        assert_eq!(ingest_level(&v, b"c", b"d", &Busy::default()), Level::L0);
    }

    #[test]
    fn a_running_compaction_into_the_range_stops_it_above() {
        let v = version(&[]);
        let mut busy = Busy::default();
        busy.outputs
            .push((Level::new(4).unwrap(), b"b".to_vec(), b"e".to_vec()));
        assert_eq!(ingest_level(&v, b"a", b"c", &busy), Level::new(3).unwrap());
        assert_eq!(ingest_level(&v, b"f", b"g", &busy), Level::BOTTOM);
    }
}
