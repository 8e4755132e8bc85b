//! `Wal`: the write side of the log, shared by any number of appending threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use quickcache_fs::DynFs;
use snafu::ResultExt;

use crate::active::ActiveSegment;
use crate::error::{ReadSnafu, RemoveSnafu, SegmentInUseSnafu, SpawnFlusherSnafu, SyncDirSnafu};
use crate::group::{Group, Limits};
use crate::segment::list_segments;
use crate::{Durability, Position, Result, SegmentId, WalOptions};

/// A write-ahead log open for appending.
///
/// `Wal` is `Send + Sync`; share it (for example in an `Arc`) and append from any
/// number of threads through `&self`. Concurrent appends are grouped: one write, and
/// for synced appends one `fdatasync`, serves everyone waiting (see [`Durability`]).
///
/// Get one from [`Wal::open`] or from [`crate::Recovery::finish`]; both recover the
/// existing segments first and then start a new segment numbered after the last one,
/// so nothing is ever appended to a segment a crash may have torn.
///
/// After a failed write or sync the writer is poisoned: every later call returns
/// [`crate::Error::Poisoned`] naming the first failure. Reopen to recover.
///
/// One process, one writer per directory: guard the directory with
/// [`quickcache_fs::FileSystem::lock`] if other openers are possible.
#[derive(Debug)]
pub struct Wal {
    group: Arc<Group>,
    fs: DynFs,
    dir: PathBuf,
    flusher: Mutex<Option<Flusher>>,
}

/// The background thread that hands buffered records to the OS.
#[derive(Debug)]
struct Flusher {
    /// Dropping it tells the thread to stop.
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Flusher {
    fn spawn(group: Arc<Group>, every: Duration) -> Result<Flusher> {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("quickcache-wal-flush".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    group.flush_in_background();
                }
            })
            .context(SpawnFlusherSnafu)?;
        Ok(Flusher { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        // The thread only loops on the channel; a panic there is already reported.
        let _finished = self.thread.join();
    }
}

impl Wal {
    /// Starts writing in a new segment `first` of `dir`. Callers have recovered the
    /// directory: every existing segment is complete and durable.
    pub(crate) fn start(
        fs: DynFs,
        dir: PathBuf,
        options: &WalOptions,
        first: SegmentId,
    ) -> Result<Wal> {
        let active =
            ActiveSegment::create(fs.clone(), dir.clone(), first, options.wal_segment_size)?;
        Wal::with_active(fs, dir, options, active)
    }

    /// Continues writing at the end of the existing segment `last` of `dir`, which
    /// recovery found clean (no torn tail) and durable (synced now, or by the previous
    /// run's clean close).
    pub(crate) fn resume(
        fs: DynFs,
        dir: PathBuf,
        options: &WalOptions,
        last: SegmentId,
    ) -> Result<Wal> {
        let active =
            ActiveSegment::resume(fs.clone(), dir.clone(), last, options.wal_segment_size)?;
        Wal::with_active(fs, dir, options, active)
    }

    fn with_active(
        fs: DynFs,
        dir: PathBuf,
        options: &WalOptions,
        active: ActiveSegment,
    ) -> Result<Wal> {
        let limits = Limits {
            wal_segment_size: options.wal_segment_size,
            buffer_limit: options.buffer_limit,
        };
        let group = Arc::new(Group::new(active, limits));
        let flusher = match options.flush_interval {
            Some(every) => Some(Flusher::spawn(Arc::clone(&group), every)?),
            None => None,
        };
        Ok(Wal {
            group,
            fs,
            dir,
            flusher: Mutex::new(flusher),
        })
    }

    /// Appends one record and returns where it starts, once it is as durable as
    /// `durability` says.
    ///
    /// # Errors
    /// [`crate::Error::RecordTooLarge`] for payloads over [`crate::MAX_RECORD_LEN`]
    /// (nothing is written); the I/O error that poisons the writer; afterwards
    /// [`crate::Error::Poisoned`]; [`crate::Error::Closed`] after [`Wal::close`].
    pub fn append(&self, payload: &[u8], durability: Durability) -> Result<Position> {
        self.group.append(payload, durability)
    }

    /// As [`Wal::append`], with `prepare` called under the writer's lock just before
    /// its payload is staged: records are in the log in the order of their `prepare`
    /// calls. A caller that numbers its records in `prepare` gets the log in number
    /// order, while many callers still share one write and one sync. The value
    /// `prepare` returns comes back beside the append's result, so a caller can undo
    /// what it prepared for a record that was not appended. `prepare` must be quick:
    /// every appender waits for it.
    ///
    /// # Errors
    /// `prepare`'s error (nothing is appended); otherwise, beside its value, the
    /// errors of [`Wal::append`].
    pub fn append_with<'p, T, E>(
        &self,
        durability: Durability,
        prepare: impl FnOnce() -> std::result::Result<(T, &'p [u8]), E>,
    ) -> std::result::Result<(T, Result<Position>), E> {
        self.group.append_with(durability, prepare)
    }

    /// Hands every record appended so far to the OS.
    pub fn flush(&self) -> Result<()> {
        self.group.flush()
    }

    /// Makes every record appended so far durable.
    pub fn sync(&self) -> Result<()> {
        self.group.sync()
    }

    /// Ends the current segment (if it holds any record) and returns the segment that
    /// receives the next record. Every record appended before the call is in a lower
    /// segment, and those segments are synced and closed when this returns.
    pub fn rotate(&self) -> Result<SegmentId> {
        self.group.rotate()
    }

    /// The segment receiving appends now.
    pub fn current_segment(&self) -> SegmentId {
        self.group.current_segment()
    }

    /// The log's size in bytes, as its contents count: the file sizes of finished
    /// segments plus the length of the segment being written (records accepted so far
    /// included). Use it rather than summing file sizes: the segment being written is
    /// preallocated, so its file runs up to 4 MiB past its records.
    ///
    /// # Errors
    /// Listing the directory, or reading a segment's size, fails.
    pub fn log_bytes(&self) -> Result<u64> {
        let open = self.group.open_lengths();
        let mut total: u64 = open.iter().map(|(_, len)| len).sum();
        for segment in list_segments(&*self.fs, &self.dir)? {
            if open.iter().any(|(s, _)| *s == segment) {
                continue;
            }
            match self.fs.size(&segment.path_in(&self.dir)) {
                Ok(size) => total += size,
                // Deleted meanwhile (delete_segments_below): no longer part of the log.
                Err(e) if e.is_not_found() => {}
                Err(source) => return Err(source).context(ReadSnafu { segment }),
            }
        }
        Ok(total)
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes every segment numbered below `bound`, then syncs the directory; returns
    /// how many were deleted. Call it only once the records in those segments are
    /// durable elsewhere. `bound` may be at most the segment being written.
    pub fn delete_segments_below(&self, bound: SegmentId) -> Result<usize> {
        let current = self.group.settled_segment()?;
        snafu::ensure!(
            bound <= current,
            SegmentInUseSnafu {
                requested: bound,
                current
            }
        );
        let mut deleted = 0;
        for segment in list_segments(&*self.fs, &self.dir)? {
            if segment >= bound {
                break;
            }
            match self.fs.remove(&segment.path_in(&self.dir)) {
                Ok(()) => deleted += 1,
                // A concurrent call got there first.
                Err(e) if e.is_not_found() => {}
                Err(source) => return Err(source).context(RemoveSnafu { segment }),
            }
        }
        // Nothing removed, nothing to make durable: an open with no obsolete segment
        // (every clean reopen) skips this sync.
        if deleted > 0 {
            let dir = &self.dir;
            self.fs.sync_dir(dir).context(SyncDirSnafu { dir })?;
        }
        Ok(deleted)
    }

    /// Stops the flush thread, makes every appended record durable and closes the
    /// segment, reporting any error. Appends afterwards fail with
    /// [`crate::Error::Closed`]. Closing twice is harmless.
    pub fn close(&self) -> Result<()> {
        self.stop_flusher();
        self.group.close()
    }

    fn stop_flusher(&self) {
        let flusher = self
            .flusher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(flusher) = flusher {
            flusher.stop();
        }
    }
}

impl Drop for Wal {
    /// Hands buffered records to the OS (best effort: errors cannot be reported from
    /// a drop; call [`Wal::close`] to see them).
    fn drop(&mut self) {
        self.stop_flusher();
        self.group.flush_in_background();
    }
}
