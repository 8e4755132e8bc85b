//! The keyspaces besides the default one: what the manifest says about each (name,
//! options, tree, log number), rebuilt by replaying edits and written out whole in a
//! new manifest's snapshot.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use quickcache_sstable::KeyspaceId;

use crate::edit::InvalidEdit;
use crate::{DEFAULT_KEYSPACE_NAME, KeyspaceDef, TableHandle, TableInfo, Version, VersionEdit};

/// One keyspace other than the default.
#[derive(Debug, Clone)]
pub struct KeyspaceTree {
    /// Its name and stored options.
    pub def: KeyspaceDef,
    /// Its tables.
    pub version: Arc<Version>,
    /// WAL segments below this hold nothing of the keyspace that is not in its tables.
    pub log_number: u64,
}

/// The live keyspaces other than the default, and the largest id ever handed out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalogue {
    pub(crate) keyspaces: BTreeMap<KeyspaceId, KeyspaceTree>,
    pub(crate) last: KeyspaceId,
}

/// What applying a keyspace edit gives: the new catalogue, and the tables it made
/// obsolete (removed, or all of a dropped keyspace's).
#[derive(Debug)]
pub(crate) struct CatalogueApplied {
    pub(crate) catalogue: Catalogue,
    pub(crate) dropped: Vec<Arc<TableHandle>>,
}

fn invalid(reason: String) -> InvalidEdit {
    InvalidEdit { reason }
}

impl Catalogue {
    /// The id of the keyspace named `name`, if it is live.
    pub(crate) fn find(&self, name: &str) -> Option<KeyspaceId> {
        let mut all = self.keyspaces.iter();
        all.find(|(_, k)| k.def.name == name).map(|(&id, _)| id)
    }

    /// Notes the last keyspace id an edit of any keyspace records.
    pub(crate) fn note_last(&mut self, edit: &VersionEdit) {
        if let Some(last) = edit.last_keyspace {
            self.last = self.last.max(last);
        }
    }

    /// Applies an edit of a keyspace other than the default: a create, a drop, or a
    /// change to its tree. Refuses a create of an id not above every id handed out
    /// before (ids are never reused), or of a name in use; a drop or tree change of a
    /// keyspace that is not live.
    pub(crate) fn apply(
        &self,
        edit: &VersionEdit,
        open: &mut dyn FnMut(&TableInfo) -> Arc<TableHandle>,
    ) -> Result<CatalogueApplied, InvalidEdit> {
        let id = edit.keyspace;
        if id.is_default() && (edit.create.is_some() || edit.drop) {
            let reason = "the default keyspace is never created or dropped";
            return Err(invalid(reason.to_owned()));
        }
        let mut next = self.clone();
        if let Some(def) = &edit.create {
            next.create(id, def)?;
        }
        next.note_last(edit);
        let Some(tree) = next.keyspaces.get_mut(&id) else {
            return Err(invalid(format!("changes {id}, which does not exist")));
        };
        let applied = edit.apply(&tree.version, open)?;
        tree.version = Arc::new(applied.version);
        if let Some(n) = edit.log_number {
            tree.log_number = tree.log_number.max(n);
        }
        let mut dropped = applied.dropped;
        if edit.drop
            && let Some(gone) = next.keyspaces.remove(&id)
        {
            dropped.extend(gone.version.tables().map(|(_, t)| Arc::clone(t)));
        }
        Ok(CatalogueApplied {
            catalogue: next,
            dropped,
        })
    }

    fn create(&mut self, id: KeyspaceId, def: &KeyspaceDef) -> Result<(), InvalidEdit> {
        if self.keyspaces.contains_key(&id) {
            return Err(invalid(format!("creates {id}, which exists")));
        }
        if id <= self.last {
            return Err(invalid(format!(
                "creates {id}, not above the last id handed out ({})",
                self.last.0
            )));
        }
        if def.name == DEFAULT_KEYSPACE_NAME || self.find(&def.name).is_some() {
            return Err(invalid(format!(
                "creates a second keyspace named {:?}",
                def.name
            )));
        }
        self.last = self.last.max(id);
        self.keyspaces.insert(
            id,
            KeyspaceTree {
                def: def.clone(),
                version: Arc::new(Version::new()),
                log_number: 0,
            },
        );
        Ok(())
    }

    /// The edits that re-create every keyspace here, each with its tree, in id order:
    /// the part of a new manifest's snapshot before the default keyspace's edit, which
    /// records the last id handed out (after them, so that each create is above the
    /// last id known when it is replayed).
    pub(crate) fn snapshot_edits(&self) -> Vec<VersionEdit> {
        let mut edits = Vec::new();
        for (&id, tree) in &self.keyspaces {
            let mut edit = crate::version_set::tree_snapshot(&tree.version);
            edit.keyspace = id;
            edit.create = Some(tree.def.clone());
            edit.log_number = Some(tree.log_number);
            edits.push(edit);
        }
        edits
    }

    /// Every table any keyspace here lists, by id.
    pub(crate) fn table_ids(&self) -> HashMap<crate::TableId, KeyspaceId> {
        let mut ids = HashMap::new();
        for (&ks, tree) in &self.keyspaces {
            ids.extend(tree.version.tables().map(|(_, t)| (t.info().id, ks)));
        }
        ids
    }
}
