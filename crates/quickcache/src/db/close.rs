//! Closing a [`Db`]: the last flush, stopping background work, the clean-close
//! marker, the lock, and the first error of the run.

use quickcache_compaction::Compactor;

use super::Db;
use crate::error::{Error, Result};
use crate::inner::lock;

impl Db {
    /// Flushes the memtables (unless
    /// [`Options::flush_on_close`](crate::Options::flush_on_close) is off), stops
    /// background work, makes every write durable, and releases the lock, reporting the
    /// first error.
    ///
    /// # Errors
    /// The background error that made the database read-only ([`Error::is_read_only`]),
    /// including a compaction that failed just before the close; otherwise a failed
    /// flush or WAL close. The threads are stopped and the lock released in every
    /// case, and only a close without error leaves the clean-close marker.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.close()?;
    /// let again = quickcache::Db::open(dir.path())?; // the lock is free
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.life.is_closed() {
            return Ok(());
        }
        // No writer is left (closing takes the handle), so nothing lands in the
        // memtable after this flush; in the error state there is nothing to try.
        // A read-only database (no WAL writer) flushes and writes nothing.
        let writable = inner.writes.wal.is_some() && !inner.life.has_failed();
        let flushed = if inner.options.flush_on_close && writable {
            inner.flush_everything()
        } else {
            Ok(())
        };
        if !inner.life.close() {
            return Ok(());
        }
        self.stop_background();
        let Some(wal) = inner.writes.wal.as_ref() else {
            return Ok(()); // read-only: no marker, no lock, nothing to close
        };
        let closed = wal
            .close()
            .map_err(|source| inner.wal_error("closing", source));
        // Everything is synced now (the WAL's close waits for that; tables and
        // manifest edits are synced when installed): let the next open skip its syncs.
        let background = inner.background_error();
        if flushed.is_ok() && closed.is_ok() && background.is_none() {
            // The close cut the last segment to its last record: its size is where
            // the records end.
            let segment = wal.current_segment();
            let path = segment.path_in(&inner.dir.join(crate::WAL_DIR));
            let end = inner.options.fs.size(&path).ok();
            let wal_end = end.map(|offset| quickcache_wal::Position { segment, offset });
            crate::clean::leave(inner.options.fs.as_ref(), &inner.dir, wal_end);
        }
        lock(&self.lock).take();
        // The background error is the first: a flush on close fails because of it.
        match background {
            Some(source) => Err(Error::Background { source }),
            None => flushed.and(closed),
        }
    }

    /// Stops the flush thread, then the compaction pool. The flush thread records a
    /// compaction's error only when the pool's signal wakes it, so one that failed
    /// just before the close (a manifest sync, say) is recorded here, for the close to
    /// report.
    fn stop_background(&self) {
        let inner = &self.inner;
        lock(&inner.background.state).stop = true;
        inner.notify();
        let _waiting = inner
            .background
            .waits
            .enter("close: stopping the flush thread and the compaction pool");
        if let Some(thread) = lock(&self.flusher).take() {
            // The thread only loops on its state; a panic there is already reported.
            let _joined = thread.join();
        }
        if let Some(source) = lock(&inner.background.compactor)
            .take()
            .and_then(Compactor::stop)
        {
            // Kept only if it is the first error.
            let _recorded = inner.fail(Error::Compaction { source });
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Errors cannot be reported from a drop; `close` reports them.
        let _closed = self.shutdown();
    }
}
