//! Flush: a frozen memtable's entries into one L0 table, installed together with the
//! WAL number it makes obsolete.

use quickcache_sstable::{Cursor, FragmentedRangeTombstones, KeyspaceId, SeqNo};
use snafu::ResultExt;

use crate::error::InputSnafu;
use crate::output::Outputs;
use crate::range_del::RangeDels;
use crate::{Decision, Level, Result, Retention, Stats, TableInfo, VersionEdit, VersionSet};

impl VersionSet {
    /// Writes every entry of `memtable` (a frozen memtable's cursor) that a reader can
    /// still see into a new L0 table, then installs it with one edit that also records
    /// `log_number`: WAL segments below it are contained in tables from then on.
    ///
    /// Publication order (`docs/crash-safety.md` rule 2): the table is written and synced, the
    /// directory synced, then the edit appended to the manifest and synced. Only after
    /// that may the caller delete the WAL segments below `log_number`.
    ///
    /// `snapshots` are the live snapshots: for each user key the newest version plus
    /// each version a snapshot still needs are kept; tombstones always are. Returns
    /// the new table, or `None` if nothing was written (an empty memtable still
    /// records `log_number`).
    pub fn flush(
        &self,
        memtable: &mut dyn Cursor,
        log_number: u64,
        snapshots: &[SeqNo],
    ) -> Result<Option<TableInfo>> {
        self.flush_keyspace(KeyspaceId::DEFAULT, memtable, log_number, snapshots)
    }

    /// [`VersionSet::flush`] into the tree of `keyspace`: the table joins that
    /// keyspace's L0 and `log_number` becomes its log number (the others' stay).
    /// Fails with [`crate::Error::NoSuchKeyspace`] if the keyspace does not exist
    /// (dropped meanwhile); the table written is removed again.
    pub fn flush_keyspace(
        &self,
        keyspace: KeyspaceId,
        memtable: &mut dyn Cursor,
        log_number: u64,
        snapshots: &[SeqNo],
    ) -> Result<Option<TableInfo>> {
        let none = FragmentedRangeTombstones::default();
        self.flush_with_range_tombstones(keyspace, memtable, &none, log_number, snapshots)
    }

    /// [`VersionSet::flush_keyspace`] of a memtable that also holds `range_tombstones`:
    /// they go to the table's range-deletion block, and the entries they delete in the
    /// same snapshot stripe are left out.
    pub fn flush_with_range_tombstones(
        &self,
        keyspace: KeyspaceId,
        memtable: &mut dyn Cursor,
        range_tombstones: &FragmentedRangeTombstones,
        log_number: u64,
        snapshots: &[SeqNo],
    ) -> Result<Option<TableInfo>> {
        let table = self.options_of(keyspace).table_options(Level::L0);
        let mut outputs = Outputs::new(self, table, &self.stats.flush_bytes);
        let range_dels = RangeDels::new(range_tombstones.clone(), snapshots);
        let written = write_memtable(&mut outputs, memtable, range_dels, snapshots)
            .and_then(|()| outputs.finish());
        let tables = match written {
            Ok(tables) => tables,
            Err(e) => {
                outputs.abandon();
                return Err(e);
            }
        };
        let table = tables.into_iter().next();
        let mut edit = VersionEdit {
            keyspace,
            log_number: Some(log_number),
            ..VersionEdit::new()
        };
        if let Some(info) = &table {
            edit.last_seqno = Some(info.max_seqno);
            edit.added.push((Level::L0, info.clone()));
        }
        if let Err(e) = self.log_and_apply(edit) {
            // Dropped meanwhile, or the disk full (the edit is torn or was never
            // written: `docs/crash-safety.md` rule 17): nothing lists the table, so it
            // goes now, and a retry writes a new one.
            if matches!(e, crate::Error::NoSuchKeyspace { .. }) || e.is_retryable_no_space() {
                outputs.abandon();
            }
            return Err(e);
        }
        Stats::add(&self.stats.flushes, 1);
        Ok(table)
    }
}

fn write_memtable(
    outputs: &mut Outputs<'_>,
    memtable: &mut dyn Cursor,
    mut range_dels: RangeDels,
    snapshots: &[SeqNo],
) -> Result<()> {
    let mut retention = Retention::new(snapshots.to_vec());
    memtable.seek_to_first().context(InputSnafu)?;
    while let (Some(key), Some(value)) = (memtable.key(), memtable.value()) {
        // Tombstones stay: older versions of their keys may lie in the tree below.
        if !range_dels.covers(key) && retention.decide(key, false) == Decision::Keep {
            outputs.add(key, value)?;
        }
        memtable.next().context(InputSnafu)?;
    }
    // One L0 table, never cut: its range tombstones all go in, whatever lies below.
    range_dels.write_before(None, outputs, |_, _| false)
}
