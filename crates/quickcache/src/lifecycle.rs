//! `Lifecycle`: whether an open database still takes work. One owner for the three
//! states a database leaves "open" by: failed (the first background or write error,
//! sticky until reopen), closed (`close` or drop began) and, in `BgState::stop`
//! beside the signal count waiters sleep on, the background threads told to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::inner::lock;

/// The error state and the closed flag of an open database.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// The first error that made the database read-only; later ones are dropped, so
    /// every caller sees the cause.
    error: Mutex<Option<Arc<Error>>>,
    /// `error` is set: checked without the lock on every write.
    failed: AtomicBool,
    closed: AtomicBool,
}

impl Lifecycle {
    /// Records `error` as the database's error unless one is already recorded, and
    /// returns it as the source to report to the caller that met it.
    pub(crate) fn fail(&self, error: Error) -> Arc<Error> {
        let source = Arc::new(error);
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(Arc::clone(&source));
            self.failed.store(true, Ordering::Release);
        }
        source
    }

    /// The recorded error, if any.
    pub(crate) fn error(&self) -> Option<Arc<Error>> {
        lock(&self.error).clone()
    }

    /// Whether an error has been recorded.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Marks the database closed; true if it was open until now.
    pub(crate) fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// Whether `close` (or drop) has begun.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// `Err(Closed)` once closed, else the recorded error, else `Ok`.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if self.has_failed()
            && let Some(source) = self.error()
        {
            return Err(Error::Background { source });
        }
        Ok(())
    }
}
