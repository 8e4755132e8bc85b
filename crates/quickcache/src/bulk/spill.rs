//! Sorting and spilling full runs on a second thread, so that the caller fills the
//! next run meanwhile (double buffering): the sort and the scratch write no longer
//! stop the caller's `put`s.
//!
//! The hand-over channel is a rendezvous: the caller waits only while the worker is
//! still busy with the previous run, so at most two runs exist at a time (the one
//! being filled, the one being spilled). A caller that would wait sorts its run
//! itself meanwhile, so both cores work when the caller produces entries faster
//! than one thread can sort and write them.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use quickcache_fs::DynFs;

use super::run::Run;
use super::scratch::{self, RunFile};
use crate::error::{Error, Result};

/// The spill thread and the channels to it.
#[derive(Debug)]
pub(crate) struct Spiller {
    /// `None` once closed: the worker's loop ends when this sender is dropped.
    to_worker: Option<SyncSender<Run>>,
    /// Runs the worker has written and emptied, for the caller to fill again (so the
    /// arenas are allocated once per load, not once per run).
    emptied: Receiver<Run>,
    worker: Option<JoinHandle<Result<Vec<RunFile>>>>,
}

impl Spiller {
    /// Starts the worker, which writes its runs into `scratch` on `fs`.
    pub(crate) fn start(fs: DynFs, scratch: PathBuf) -> Result<Spiller> {
        let (to_worker, runs) = sync_channel::<Run>(0);
        let (give_back, emptied) = sync_channel::<Run>(2);
        let worker = std::thread::Builder::new()
            .name("quickcache-bulk-spill".into())
            .spawn(move || {
                let mut files = Vec::new();
                for mut run in runs {
                    let path = scratch.join(format!("run-{:06}", files.len() + 1));
                    run.sort_dedup();
                    files.push(scratch::write(&fs, &path, run.iter())?);
                    run.clear();
                    // Never blocks: a full channel just drops the spare run.
                    let _ = give_back.try_send(run);
                }
                Ok(files)
            })
            .map_err(|source| Error::Spawn {
                what: "bulk-load spill",
                source,
            })?;
        Ok(Spiller {
            to_worker: Some(to_worker),
            emptied,
            worker: Some(worker),
        })
    }

    /// Hands `run` to the worker and returns an empty run to fill next. If the
    /// worker is still writing the previous run, sorts `run` here first: the caller
    /// would only wait otherwise, and the worker then has just the write left.
    pub(crate) fn spill(&mut self, run: Run) -> Result<Run> {
        let Some(to) = self.to_worker.as_ref() else {
            return Err(stopped());
        };
        let sent = match to.try_send(run) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(mut run)) => {
                run.sort_dedup();
                to.send(run).map_err(|_| ())
            }
            Err(TrySendError::Disconnected(_)) => Err(()),
        };
        if sent.is_err() {
            // The worker stopped on an error: it says which.
            self.finish()?;
            return Err(stopped());
        }
        Ok(self.emptied.try_recv().unwrap_or_default())
    }

    /// Waits for the worker to write every run handed over; the runs in the order
    /// they were written (later runs hold later puts).
    pub(crate) fn finish(&mut self) -> Result<Vec<RunFile>> {
        self.to_worker = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(stopped()),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Spiller {
    /// A loader dropped without finishing: the worker ends after the run in hand (a
    /// bounded wait), and the scratch files go with the next loader.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The worker is gone without an error of its own: it panicked.
fn stopped() -> Error {
    Error::Spawn {
        what: "bulk-load spill",
        source: std::io::Error::other("the thread stopped (it panicked)"),
    }
}
