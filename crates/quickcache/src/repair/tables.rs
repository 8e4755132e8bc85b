//! Repair's tables: keep the intact ones, salvage the readable blocks of damaged ones,
//! set aside obsolete ones, report listed ones that are gone.

use std::ops::Bound;
use std::path::Path;

use quickcache_compaction::{Level, TableFate, TableId, TableInfo};
use quickcache_sstable::{KeyspaceId, SkippedRange, Table, TableBuilder};

use super::{LostRange, Repair, table_info};
use crate::error::Result;
use crate::open::{fs_error, table_error};

impl Repair<'_> {
    /// The table files of the directory, in id order; new files are numbered above
    /// them.
    pub(super) fn table_ids(&mut self) -> Result<Vec<TableId>> {
        let names = (self.fs.list(self.dir)).map_err(fs_error("listing the database", self.dir))?;
        let mut ids: Vec<TableId> = names
            .iter()
            .filter_map(|n| TableId::from_file_name(n))
            .collect();
        ids.sort_unstable();
        if let Some(last) = ids.last() {
            self.next_file = self.next_file.max(last.0.saturating_add(1));
        }
        // The new manifest needs a number at least: fail before anything is moved
        // or written rather than halfway.
        self.check_numbers_left()?;
        Ok(ids)
    }

    /// Goes through the table files `ids` (see the module doc). After the WAL, whose
    /// records may show keyspaces no manifest names: a table no record places is then
    /// not taken for the default keyspace's.
    pub(super) fn tables(&mut self, ids: &[TableId]) -> Result<()> {
        for &id in ids {
            self.table(id)?;
        }
        self.missing_tables(ids);
        Ok(())
    }

    /// Where table `id` goes, or why it goes nowhere.
    fn place(&self, id: TableId) -> std::result::Result<(KeyspaceId, Level), &'static str> {
        let levels_known = self.salvage.complete;
        match self.salvage.tables.get(&id) {
            Some(TableFate::Removed) => Err("obsolete: a manifest edit removed it"),
            Some(TableFate::Listed {
                keyspace, level, ..
            }) => {
                let live = keyspace.is_default() || self.keyspaces.contains_key(keyspace);
                let level = if levels_known { *level } else { Level::L0 };
                live.then_some((*keyspace, level))
                    .ok_or("its keyspace was dropped")
            }
            None => match self.logged_ingests.get(&id) {
                // An ingest whose manifest edit was lost: its WAL record names the
                // keyspace.
                Some(&(keyspace, _)) => {
                    let live = keyspace.is_default() || self.keyspaces.contains_key(&keyspace);
                    live.then_some((keyspace, Level::L0))
                        .ok_or("its keyspace was dropped")
                }
                // A database with one keyspace: the table can only be the default one's.
                None if self.keyspaces.is_empty() => Ok((KeyspaceId::DEFAULT, Level::L0)),
                None => Err("no readable manifest record says which keyspace it belongs to"),
            },
        }
    }

    /// The global sequence number the old manifest gave table `id` (an ingested
    /// table), if a readable record listed it; else the one the WAL logged its
    /// ingest with, if it did.
    fn listed_global_seqno(&self, id: TableId) -> Option<quickcache_sstable::SeqNo> {
        match self.salvage.tables.get(&id) {
            Some(TableFate::Listed { info, .. }) => info.global_seqno,
            Some(TableFate::Removed) => None,
            None => self.logged_ingests.get(&id).map(|&(_, seqno)| seqno),
        }
    }

    fn table(&mut self, id: TableId) -> Result<()> {
        let path = id.path(self.dir);
        let (keyspace, level) = match self.place(id) {
            Ok(place) => place,
            Err(why) => {
                self.unused.push((path, why.to_owned()));
                return Ok(());
            }
        };
        let global_seqno = self.listed_global_seqno(id);
        let intact = Table::open(self.fs, &path).and_then(|t| t.verify().map(|()| t));
        match intact {
            Ok(table) => {
                let info = table_info(
                    id.0,
                    table.file_size(),
                    table.properties(),
                    table.range_tombstones(),
                    global_seqno,
                );
                match info {
                    Some(info) => {
                        self.keep(keyspace, level, info);
                        self.report.tables_kept += 1;
                    }
                    None => self.unused.push((path, "holds no entries".to_owned())),
                }
                Ok(())
            }
            // An I/O error is no damage: the bytes were never seen, and salvaging
            // would rewrite a table that may be intact. The repair stops instead,
            // before it changes anything.
            Err(e) if !e.is_corruption() => Err(table_error("reading a table", &path)(e)),
            Err(damage) => self.salvage_table(&path, keyspace, level, &damage.to_string()),
        }
    }

    /// Writes the readable entries of the damaged table at `path` into a new table
    /// at the same level (its keys are a subset of the original's, so it overlaps no
    /// neighbour) and reports the blocks skipped.
    fn salvage_table(
        &mut self,
        path: &Path,
        keyspace: KeyspaceId,
        level: Level,
        why: &str,
    ) -> Result<()> {
        let id = self.new_file_number()?;
        let new_path = TableId(id).path(self.dir);
        let options = self.table_options(level);
        let mut builder = TableBuilder::new(self.fs, &new_path, options)
            .map_err(table_error("creating a salvaged table", &new_path))?;
        let salvage = quickcache_sstable::salvage(self.fs, path, &mut |k, v| builder.add(k, v))
            .map_err(table_error("salvaging a damaged table", path))?;
        // Without its range tombstones, keys they deleted would come back from
        // tables below: keep them, or report the table's range as lost.
        let listed = match self.salvage.tables.get(&table_id(path)) {
            Some(TableFate::Listed { info, .. }) => Some(info.clone()),
            _ => None,
        };
        let tombstones = salvage.range_tombstones.clone().unwrap_or_default();
        if salvage.range_tombstones.is_none() {
            self.report.lost.push(LostRange {
                file: path.to_path_buf(),
                offset: 0,
                len: 0,
                reason: "its range tombstones could not be read: keys they deleted may read again"
                    .to_owned(),
                keys: listed.as_ref().map(|info| {
                    (
                        Bound::Included(info.smallest_user().to_vec()),
                        Bound::Included(info.largest_user().to_vec()),
                    )
                }),
            });
        }
        let kept_tombstones = tombstones.len();
        for t in tombstones {
            builder
                .add_range_tombstone(t)
                .map_err(table_error("writing a salvaged table", &new_path))?;
        }
        for skipped in &salvage.skipped {
            self.report
                .lost
                .push(lost_block(path, skipped, listed.as_ref()));
        }
        self.report.tables_salvaged += 1;
        self.report.entries_salvaged += salvage.entries;
        let why = if salvage.entries == 0 && kept_tombstones == 0 {
            // Our own empty output, never listed: removing it loses nothing.
            drop(builder);
            let _ = self.fs.remove(&new_path);
            format!("damaged ({why}); no entry was readable")
        } else {
            let meta = builder
                .finish()
                .map_err(table_error("writing a salvaged table", &new_path))?;
            // The salvaged entries keep their sequence numbers: an ingested table's
            // stay 0 and need its global one.
            let global_seqno = listed.as_ref().and_then(|i| i.global_seqno);
            if let Some(info) = table_info(
                id,
                meta.file_size,
                &meta.properties,
                &meta.range_tombstones,
                global_seqno,
            ) {
                self.keep(keyspace, level, info);
            }
            self.report.tables_written += 1;
            format!(
                "damaged ({why}); its {} readable entries are in table {id}",
                salvage.entries
            )
        };
        self.unused.push((path.to_path_buf(), why));
        Ok(())
    }

    /// Reports the tables the manifest lists that are not in the directory.
    fn missing_tables(&mut self, present: &[TableId]) {
        for (id, fate) in &self.salvage.tables {
            let TableFate::Listed { info, keyspace, .. } = fate else {
                continue;
            };
            let live = keyspace.is_default() || self.keyspaces.contains_key(keyspace);
            if !live || present.binary_search(id).is_ok() {
                continue;
            }
            self.report.lost.push(LostRange {
                file: id.path(self.dir),
                offset: 0,
                len: info.size,
                reason: "a table the manifest lists is missing".to_owned(),
                keys: Some((
                    Bound::Included(info.smallest_user().to_vec()),
                    Bound::Included(info.largest_user().to_vec()),
                )),
            });
        }
    }
}

/// The id in a table's file name (0 if it is not one: never listed).
fn table_id(path: &Path) -> TableId {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    TableId::from_file_name(name).unwrap_or(TableId(0))
}

/// The lost range of a skipped block: the keys strictly after the last one read
/// before it (only older entries of that key can be in it) up to and including the
/// first one read after it (newer entries of that key can be in it). At either end
/// of the table, the key range the manifest listed for it bounds it, if known.
fn lost_block(path: &Path, s: &SkippedRange, listed: Option<&TableInfo>) -> LostRange {
    let lo = match (&s.after, listed) {
        (Some(k), _) => Bound::Excluded(k.as_ref().user_key.to_vec()),
        (None, Some(info)) => Bound::Included(info.smallest_user().to_vec()),
        (None, None) => Bound::Unbounded,
    };
    let hi = match (&s.before, listed) {
        (Some(k), _) => Bound::Included(k.as_ref().user_key.to_vec()),
        (None, Some(info)) => Bound::Included(info.largest_user().to_vec()),
        (None, None) => Bound::Unbounded,
    };
    LostRange {
        file: path.to_path_buf(),
        offset: s.offset,
        len: s.len,
        reason: s.reason.clone(),
        keys: Some((lo, hi)),
    }
}
