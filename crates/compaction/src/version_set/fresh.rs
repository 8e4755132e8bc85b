//! Manifest rotation, and recovery from a full disk in the manifest: a manifest whose append failed with
//! ENOSPC is never appended to again (its tail is torn or absent, and a later record
//! after a torn one would be dropped with it at the next open). Instead, before the
//! next edit, a fresh manifest is written from the in-memory state, which holds every
//! edit that reached the old manifest durably and none that did not
//! (`docs/crash-safety.md`, rule 17).

use std::sync::atomic::Ordering;

use super::{LogState, VersionSet, snapshot_edits};
use crate::manifest::ManifestWriter;
use crate::{Result, Version};

impl VersionSet {
    /// Switches to a fresh manifest once this one is over `max_manifest_size`.
    pub(super) fn rotate_if_large(&self, manifest: &mut (ManifestWriter, LogState)) {
        if manifest.0.len() > self.options.max_manifest_size {
            let version = self.current();
            if let Err(e) = self.rotate(manifest, &version)
                && !e.is_retryable_no_space()
            {
                // The edit is durable, so this call succeeded; but whether CURRENT names
                // the old manifest or the new one is unknown: append to neither. After
                // a full disk it is known (the old one), and the old file intact: keep
                // appending to it, and rotate again after the next edit.
                manifest.0.poison();
            }
        }
    }

    /// Replaces the manifest by a new one holding a snapshot: new file synced, CURRENT
    /// switched, directory synced, then the old file removed (`docs/crash-safety.md` rules 3, 4).
    ///
    /// On failure CURRENT names the old manifest if the error
    /// [`crate::Error::is_retryable_no_space`] (only writing the new file or CURRENT's
    /// temporary file failed), and the new file is removed again; after any other
    /// error which one CURRENT names is unknown.
    pub(super) fn rotate(
        &self,
        manifest: &mut (ManifestWriter, LogState),
        version: &Version,
    ) -> Result<()> {
        let number = self.new_file_number()?;
        let snapshot = snapshot_edits(version, &manifest.1, self.next_file.load(Ordering::SeqCst));
        let new_path = self.dir.join(crate::manifest_name(number));
        let writer = match ManifestWriter::create(self.fs.as_ref(), &self.dir, number, &snapshot) {
            Ok(writer) => writer,
            Err(e) => {
                // CURRENT was not touched: the new file is garbage (also left behind,
                // the next open removes it).
                let _ = self.fs.remove(&new_path);
                return Err(e);
            }
        };
        if let Err(e) = crate::current::set_current(self.fs.as_ref(), &self.dir, number) {
            if e.is_retryable_no_space() {
                drop(writer);
                let _ = self.fs.remove(&new_path);
            }
            return Err(e);
        }
        let old = std::mem::replace(&mut manifest.0, writer);
        // The old manifest is garbage now; a failed removal is retried at the next open.
        let _ = self.fs.remove(old.path());
        Ok(())
    }

    /// If the manifest writer was poisoned by a full disk, replaces it by a fresh
    /// manifest (the ordinary rotation: snapshot written and synced, CURRENT switched
    /// atomically, directory synced, old file removed). Fails with the rotation's
    /// error while the disk is still full; the writer stays poisoned then, for good
    /// if the failure was not a full disk (CURRENT may name either file).
    pub(crate) fn replace_if_poisoned_by_full_disk(
        &self,
        manifest: &mut (ManifestWriter, LogState),
    ) -> Result<()> {
        if !manifest.0.needs_replacing() {
            return Ok(());
        }
        let version = self.current();
        self.rotate(manifest, &version).inspect_err(|e| {
            if !e.is_retryable_no_space() {
                manifest.0.poison();
            }
        })
    }

    /// Whether the manifest waits to be replaced by a fresh one after a full disk
    /// (the next edit does it): for reports.
    pub fn manifest_needs_replacing(&self) -> bool {
        super::guard(&self.manifest).0.needs_replacing()
    }
}
