//! `KeptMaps`: the file system a read-only open works through, keeping every table
//! mapping an attempt made for the attempts after it.
//!
//! A table file never changes once written and its number is never reused, so a
//! mapping of it stays right even after the writer deletes the file (the mapping keeps
//! its blocks). Each attempt first maps every table file in the directory that is not
//! mapped yet ([`KeptMaps::premap`]), then reads the manifest: a table the manifest
//! names was then either mapped already or created in the short time between the
//! listing and the manifest read, so a writer must create and delete a table within
//! one attempt to make it fail. Mapping only after the manifest replay, as before,
//! left the whole replay (hundreds of milliseconds for a long manifest in a debug
//! build on a loaded machine) for the writer to delete a table in, and a writer
//! compacting without pause won that race for 10 s of attempts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use quickcache_fs::{DynFs, FileLock, FileSystem, Mapping, ReadableFile, Result, WritableFile};

use crate::inner::lock;

/// Delegates everything to `inner`, and remembers the mappings of table files.
#[derive(Debug)]
pub(super) struct KeptMaps {
    inner: DynFs,
    maps: Mutex<HashMap<PathBuf, Mapping>>,
}

impl KeptMaps {
    pub(super) fn new(inner: DynFs) -> Arc<Self> {
        Arc::new(KeptMaps {
            inner,
            maps: Mutex::new(HashMap::new()),
        })
    }

    /// Maps every whole table file in `dir` not mapped yet. A file deleted between
    /// the listing and its mapping is skipped, and so is one still being written:
    /// the manifest read after this no longer needs it (or does not name it yet), or
    /// the attempt maps it through [`FileSystem::map`] as before.
    ///
    /// # Errors
    /// Listing the directory, or mapping a file that is there, failed.
    pub(super) fn premap(&self, dir: &Path) -> Result<()> {
        for name in self.inner.list(dir)? {
            let path = dir.join(&name);
            if !is_table(&path) || lock(&self.maps).contains_key(&path) {
                continue;
            }
            match self.inner.map(&path) {
                // Only a whole table: the writer may still be writing this one (its
                // footer, checksummed, is written last), and a mapping does not grow.
                Ok(map) if quickcache_sstable::Table::from_mapping(map.clone(), &path).is_ok() => {
                    lock(&self.maps).insert(path, map);
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Drops the kept mappings (the open's tables hold their own): the blocks of
    /// tables the writer deleted meanwhile are freed.
    pub(super) fn forget(&self) {
        lock(&self.maps).clear();
    }
}

fn is_table(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sst")
}

impl FileSystem for KeptMaps {
    fn map(&self, path: &Path) -> Result<Mapping> {
        if !is_table(path) {
            return self.inner.map(path);
        }
        if let Some(map) = lock(&self.maps).get(path) {
            return Ok(map.clone());
        }
        let map = self.inner.map(path)?;
        lock(&self.maps).insert(path.to_path_buf(), map.clone());
        Ok(map)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.inner.create(path)
    }
    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.inner.open_append(path)
    }
    fn open(&self, path: &Path) -> Result<Box<dyn ReadableFile>> {
        self.inner.open(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        self.inner.exists(path)
    }
    fn size(&self, path: &Path) -> Result<u64> {
        self.inner.size(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        self.inner.truncate(path, len)
    }
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        self.inner.read_file(path)
    }
    fn link(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.link(from, to)
    }
    fn remove_dir(&self, dir: &Path) -> Result<()> {
        self.inner.remove_dir(dir)
    }
}
