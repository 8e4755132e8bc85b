//! Directory renames and removals on the simulated disk, and what a power loss does
//! to a rename whose parent directory was not synced yet.
//!
//! A renamed directory takes every name under it along, live and durable alike: the
//! files inside were durable in it, and stay so under its new name. The rename
//! itself is durable only once the directory holding the new name is synced; until
//! then a power loss puts the directory (and whatever was made durable inside it in
//! the meantime) back under its old name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::state::{InodeRef, Namespace};

/// `path` with its prefix `from` replaced by `to`, if it lies under `from` (or is it).
fn moved(path: &Path, from: &Path, to: &Path) -> Option<PathBuf> {
    path.strip_prefix(from).ok().map(|rest| {
        if rest.as_os_str().is_empty() {
            to.to_path_buf()
        } else {
            to.join(rest)
        }
    })
}

fn move_names(names: &mut BTreeMap<PathBuf, InodeRef>, from: &Path, to: &Path) {
    let under: Vec<PathBuf> = names
        .keys()
        .filter(|p| p.starts_with(from))
        .cloned()
        .collect();
    for old in under {
        if let (Some(inode), Some(new)) = (names.remove(&old), moved(&old, from, to)) {
            names.insert(new, inode);
        }
    }
}

fn move_dirs(dirs: &mut BTreeSet<PathBuf>, from: &Path, to: &Path) {
    let under: Vec<PathBuf> = dirs
        .iter()
        .filter(|p| p.starts_with(from))
        .cloned()
        .collect();
    for old in under {
        dirs.remove(&old);
        if let Some(new) = moved(&old, from, to) {
            dirs.insert(new);
        }
    }
}

impl Namespace {
    /// Whether `dir` holds no file and no directory.
    pub(crate) fn dir_is_empty(&self, dir: &Path) -> bool {
        let inside = |p: &PathBuf| p.parent() == Some(dir);
        !self.live.keys().any(inside) && !self.dirs.iter().any(inside)
    }

    /// Renames directory `from` to `to` (which does not exist, or is an empty
    /// directory), pending until `to`'s parent is synced.
    pub(crate) fn rename_dir(&mut self, from: &Path, to: &Path) {
        self.dirs.remove(to);
        move_names(&mut self.live, from, to);
        move_names(&mut self.durable, from, to);
        move_dirs(&mut self.dirs, from, to);
        self.pending_dir_renames
            .push((from.to_path_buf(), to.to_path_buf()));
    }

    /// Makes the directory renames into `dir` durable.
    pub(crate) fn settle_dir_renames(&mut self, dir: &Path) {
        self.pending_dir_renames
            .retain(|(_, to)| to.parent() != Some(dir));
    }

    /// Undoes the renames no directory sync made durable, newest first: the names and
    /// directories a power loss leaves.
    pub(crate) fn undo_pending_dir_renames(
        &self,
        durable: &mut BTreeMap<PathBuf, InodeRef>,
        dirs: &mut BTreeSet<PathBuf>,
    ) {
        for (from, to) in self.pending_dir_renames.iter().rev() {
            move_names(durable, to, from);
            move_dirs(dirs, to, from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_replaces_only_a_whole_prefix() {
        let (from, to) = (Path::new("/a/b"), Path::new("/a/c"));
        assert_eq!(
            moved(Path::new("/a/b/x"), from, to),
            Some(PathBuf::from("/a/c/x"))
        );
        assert_eq!(
            moved(Path::new("/a/b"), from, to),
            Some(PathBuf::from("/a/c"))
        );
        assert_eq!(moved(Path::new("/a/bb/x"), from, to), None);
    }
}
