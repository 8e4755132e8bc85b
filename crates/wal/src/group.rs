//! Group commit: appenders stage frames in one shared buffer, and one of them at a
//! time (the leader) hands the whole group to the OS with one write and, if any member
//! asked for it, one `fdatasync`.
//!
//! # Protocol
//! All bookkeeping lives in [`State`] behind one mutex, held only for short, I/O-free
//! critical sections. Progress is measured in bytes of frames since the writer
//! started: `staged` (accepted into the buffer) >= `written` (handed to the OS) >=
//! `synced` (durable). An appender stages its frame, notes the `staged` count as its
//! target, and waits until `written` (or `synced`) reaches it. While no leader is
//! active, a waiter becomes the leader: it takes the buffer, releases the state lock,
//! does the I/O, then publishes the new counts and wakes everyone. Appenders that
//! arrive during the I/O stage into a fresh buffer and form the next group.
//!
//! A leader about to sync first *gathers*: appenders released by the previous sync
//! come straight back with their next record, but too late for a leader that starts at
//! once, which would split the appenders into two alternating halves, each synced
//! every other time. So the leader waits, at most half the last sync's duration, until
//! as many synced records are staged as the previous sync carried. A lone appender
//! never waits (its previous group was itself).
//!
//! Rotation is scheduled, not performed, under the lock: the old segment's unwritten
//! bytes move into a pending [`Rotation`] and staging continues at once in the next
//! segment, whose number and offsets are already known. The next leader finishes the
//! old segment before it writes anything to the new one.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

mod state;

use state::State;

use crate::active::ActiveSegment;
use crate::{Durability, Error, Position, Result, SegmentId, record};

type Guard<'a> = MutexGuard<'a, State>;

/// The longest a leader gathers a group before it syncs.
const MAX_GATHER: Duration = Duration::from_millis(1);

/// Size limits the writer enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) wal_segment_size: u64,
    pub(crate) buffer_limit: usize,
}

/// The shared writer. `Send + Sync`: all mutable state is behind its mutexes.
#[derive(Debug)]
pub(crate) struct Group {
    state: Mutex<State>,
    /// Signalled whenever a leader finishes (successfully or not).
    progress: Condvar,
    /// Signalled to a gathering leader when a synced record is staged.
    gathered: Condvar,
    /// The open segment; locked only by the leader, which `State::io_busy` makes unique.
    active: Mutex<ActiveSegment>,
    limits: Limits,
}

impl Group {
    /// A writer appending to `active`, which was just created and is empty.
    pub(crate) fn new(active: ActiveSegment, limits: Limits) -> Self {
        let state = State::new(active.id(), active.len());
        Group {
            state: Mutex::new(state),
            progress: Condvar::new(),
            gathered: Condvar::new(),
            active: Mutex::new(active),
            limits,
        }
    }

    fn lock_state(&self) -> Guard<'_> {
        // State is consistent between statements, so a panic elsewhere cannot leave
        // it half-updated; keep going rather than propagate the panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stages one record and waits for the requested durability.
    pub(crate) fn append(&self, payload: &[u8], durability: Durability) -> Result<Position> {
        let prepared = self.append_with(durability, || {
            Ok::<_, std::convert::Infallible>(((), payload))
        });
        match prepared {
            Ok(((), result)) => result,
            Err(never) => match never {},
        }
    }

    /// Calls `prepare` under the state lock, stages the payload it returns, and waits
    /// for the requested durability. Records are in the log in the order of their
    /// `prepare` calls: a caller that numbers its record in `prepare` gets the log in
    /// number order. `prepare`'s value comes back with the append's result, so a
    /// caller can undo what it prepared for a record that was not appended.
    pub(crate) fn append_with<'p, T, E>(
        &self,
        durability: Durability,
        prepare: impl FnOnce() -> std::result::Result<(T, &'p [u8]), E>,
    ) -> std::result::Result<(T, Result<Position>), E> {
        let st = self.lock_state();
        let (prepared, payload) = prepare()?;
        let result = self.stage_and_wait(st, payload, durability);
        Ok((prepared, result))
    }

    #[inline(always)]
    fn stage_and_wait<'a>(
        &'a self,
        mut st: Guard<'a>,
        payload: &[u8],
        durability: Durability,
    ) -> Result<Position> {
        st.check_open()?;
        if st.segment_has_records()
            && st.segment_len >= self.limits.wal_segment_size
            && st.rotation.is_none()
        {
            st.schedule_rotation();
        }
        let position = Position {
            segment: st.segment,
            offset: st.segment_len,
        };
        record::encode(&mut st.buf, position.segment, position.offset, payload)?;
        let framed = record::frame_len(payload.len()) as u64;
        st.segment_len += framed;
        st.staged += framed;
        let target = st.staged;
        match durability {
            Durability::Buffered if st.buf.len() < self.limits.buffer_limit => {}
            Durability::Buffered | Durability::Os => {
                drop(self.wait_until(st, None, |s| s.written >= target)?);
            }
            Durability::Synced => {
                st.synced_in_buf += 1;
                // Wake a gathering leader once, when its group is complete.
                if st.gathering && st.synced_in_buf >= st.last_sync_group {
                    self.gathered.notify_one();
                }
                drop(self.wait_until(st, Some(target), |s| s.synced >= target)?);
            }
        }
        Ok(position)
    }

    /// Waits until `done` holds, leading I/O whenever no one else is. `sync_to` asks
    /// leaders to sync up to that count.
    fn wait_until<'a>(
        &'a self,
        mut st: Guard<'a>,
        sync_to: Option<u64>,
        done: impl Fn(&State) -> bool,
    ) -> Result<Guard<'a>> {
        if let Some(target) = sync_to {
            st.sync_wanted = st.sync_wanted.max(target);
        }
        loop {
            if done(&st) {
                return Ok(st);
            }
            if let Some(first_failure) = &st.poisoned {
                return Err(Error::Poisoned {
                    first_failure: first_failure.clone(),
                });
            }
            st = if st.io_busy {
                st.waiters += 1;
                let mut st = self
                    .progress
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                st.waiters -= 1;
                st
            } else {
                self.lead(st)?
            };
        }
    }

    /// Takes everything staged and does its I/O outside the state lock. The leader
    /// gets its own I/O error; everyone else sees the writer poisoned.
    fn lead<'a>(&'a self, mut st: Guard<'a>) -> Result<Guard<'a>> {
        if st.sync_wanted > st.synced {
            st = self.gather(st);
        }
        let batch = st.take_batch();
        drop(st);
        // Only synced batches are timed (they size the gather window); the clock
        // would be a measurable part of an unsynced append.
        let started = batch.sync.then(Instant::now);
        let outcome = {
            let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
            batch.run(&mut active)
        };
        let mut st = self.lock_state();
        let timed = outcome
            .as_ref()
            .map(|()| started.map_or(Duration::ZERO, |t| t.elapsed()));
        st.finish_batch(batch, timed, self.limits);
        if st.waiters > 0 {
            self.progress.notify_all();
        }
        outcome.map(|()| st)
    }

    /// Waits (bounded by the gather window) until the synced appenders of the last
    /// group have staged again. Holds the leader role meanwhile, so arrivals queue up
    /// behind it instead of starting a smaller group.
    fn gather<'a>(&'a self, mut st: Guard<'a>) -> Guard<'a> {
        let deadline = Instant::now() + st.gather_window;
        st.io_busy = true;
        st.gathering = true;
        while st.synced_in_buf < st.last_sync_group {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            st = match self.gathered.wait_timeout(st, left) {
                Ok((st, _)) => st,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        st.gathering = false;
        st
    }

    /// Hands everything appended so far to the OS, finishing a pending rotation.
    pub(crate) fn flush(&self) -> Result<()> {
        let st = self.lock_state();
        st.check_open()?;
        let target = st.staged;
        self.wait_until(st, None, |s| s.written >= target && s.settled())
            .map(drop)
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync(&self) -> Result<()> {
        let st = self.lock_state();
        st.check_open()?;
        let target = st.staged;
        self.wait_until(st, Some(target), |s| s.synced >= target && s.settled())
            .map(drop)
    }

    /// Starts a new segment unless the current one has no records yet, and returns the
    /// segment that receives the next record once the switch is on disk.
    pub(crate) fn rotate(&self) -> Result<SegmentId> {
        let mut st = self.lock_state();
        loop {
            st.check_open()?;
            if !st.segment_has_records() {
                break;
            }
            if st.rotation.is_none() {
                st.schedule_rotation();
                break;
            }
            // The pending switch's successor already has records: finish that switch.
            st = self.wait_until(st, None, |s| s.settled())?;
        }
        let segment = st.segment;
        let target = st.staged;
        drop(self.wait_until(st, None, |s| s.written >= target && s.settled())?);
        Ok(segment)
    }

    /// The segment receiving appends, after any pending rotation is on disk (so every
    /// lower segment is complete and closed).
    pub(crate) fn settled_segment(&self) -> Result<SegmentId> {
        let st = self.lock_state();
        st.check_open()?;
        let st = self.wait_until(st, None, |s| s.settled())?;
        Ok(st.segment)
    }

    /// The segment receiving appends now.
    pub(crate) fn current_segment(&self) -> SegmentId {
        self.lock_state().segment
    }

    /// The lengths of the segments the writer has not finished: the current one's and,
    /// while a switch is pending, the previous one's, records staged so far included.
    pub(crate) fn open_lengths(&self) -> Vec<(SegmentId, u64)> {
        let st = self.lock_state();
        let pending = st.rotation.as_ref().and_then(|r| {
            let old = SegmentId(r.next.0.checked_sub(1)?);
            Some((old, r.old_len))
        });
        pending
            .into_iter()
            .chain([(st.segment, st.segment_len)])
            .collect()
    }

    /// Background flush: hands buffered records to the OS unless a leader is already
    /// at work. A failure poisons the writer; the next call reports it.
    pub(crate) fn flush_in_background(&self) {
        let st = self.lock_state();
        if st.closed || st.poisoned.is_some() || st.io_busy || !st.has_unwritten() {
            return;
        }
        // The error is recorded in the state as the poisoning failure.
        let _poisoned = self.lead(st);
    }

    /// Refuses further appends, makes everything appended durable, closes the file.
    pub(crate) fn close(&self) -> Result<()> {
        let mut st = self.lock_state();
        if st.closed {
            return Ok(());
        }
        st.check_open()?;
        st.closed = true;
        let target = st.staged;
        let st = self.wait_until(st, Some(target), |s| {
            !s.io_busy && s.synced >= target && s.settled()
        })?;
        drop(st);
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .close()
    }
}
