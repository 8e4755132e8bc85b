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
//! Rotation is scheduled, not performed, under the lock: the old segment's unwritten
//! bytes move into a pending [`Rotation`] and staging continues at once in the next
//! segment, whose number and offsets are already known. The next leader finishes the
//! old segment before it writes anything to the new one.

use std::mem;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::active::ActiveSegment;
use crate::format::SEGMENT_HEADER_LEN;
use crate::{Durability, Error, Position, Result, SegmentId, record};

type Guard<'a> = MutexGuard<'a, State>;

/// Size limits the writer enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) segment_size: u64,
    pub(crate) buffer_limit: usize,
}

/// The shared writer. `Send + Sync`: all mutable state is behind its mutexes.
#[derive(Debug)]
pub(crate) struct Group {
    state: Mutex<State>,
    /// Signalled whenever a leader finishes (successfully or not).
    progress: Condvar,
    /// The open segment; locked only by the leader, which `State::io_busy` makes unique.
    active: Mutex<ActiveSegment>,
    limits: Limits,
}

#[derive(Debug)]
struct State {
    /// Frames staged but not yet taken by a leader, all for `segment`.
    buf: Vec<u8>,
    /// An empty buffer kept for reuse, so steady-state appends do not allocate.
    spare: Vec<u8>,
    /// The segment receiving new frames.
    segment: SegmentId,
    /// Its length once everything staged is written: the next frame's offset.
    segment_len: u64,
    staged: u64,
    written: u64,
    synced: u64,
    /// The highest `staged` count some waiter needs synced.
    sync_wanted: u64,
    /// A leader is doing I/O.
    io_busy: bool,
    rotation: Option<Rotation>,
    /// Description of the first failed write or sync; the writer accepts nothing after.
    poisoned: Option<String>,
    closed: bool,
}

/// A scheduled switch to a new segment.
#[derive(Debug)]
struct Rotation {
    /// The old segment's last unwritten bytes.
    tail: Vec<u8>,
    /// `staged` when the rotation was scheduled: everything up to it is in the old
    /// segment, so it is synced once the rotation is done.
    tail_end: u64,
    next: SegmentId,
}

/// What one leader does.
#[derive(Debug)]
struct Batch {
    rotation: Option<Rotation>,
    buf: Vec<u8>,
    end: u64,
    sync: bool,
}

impl State {
    fn check_open(&self) -> Result<()> {
        if let Some(first_failure) = &self.poisoned {
            return Err(Error::Poisoned {
                first_failure: first_failure.clone(),
            });
        }
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn segment_has_records(&self) -> bool {
        self.segment_len > SEGMENT_HEADER_LEN as u64
    }

    fn has_unwritten(&self) -> bool {
        !self.buf.is_empty() || self.rotation.is_some()
    }

    /// Moves the current segment's unwritten bytes into a pending rotation and points
    /// staging at the next segment. Requires: no rotation pending.
    fn schedule_rotation(&mut self) {
        let tail = mem::replace(&mut self.buf, mem::take(&mut self.spare));
        let next = self.segment.next();
        self.rotation = Some(Rotation {
            tail,
            tail_end: self.staged,
            next,
        });
        self.segment = next;
        self.segment_len = SEGMENT_HEADER_LEN as u64;
    }

    fn take_batch(&mut self) -> Batch {
        self.io_busy = true;
        Batch {
            rotation: self.rotation.take(),
            buf: mem::replace(&mut self.buf, mem::take(&mut self.spare)),
            end: self.staged,
            sync: self.sync_wanted > self.synced,
        }
    }

    fn finish_batch(&mut self, batch: Batch, failure: Option<&Error>, limits: Limits) {
        self.io_busy = false;
        match failure {
            None => {
                self.written = batch.end;
                if batch.sync {
                    self.synced = batch.end;
                } else if let Some(rotation) = &batch.rotation {
                    self.synced = self.synced.max(rotation.tail_end);
                }
            }
            Some(error) => {
                self.poisoned.get_or_insert_with(|| error.to_string());
            }
        }
        // Keep the buffer for the next group unless one huge record inflated it.
        let mut buf = batch.buf;
        if buf.capacity() <= 4 * limits.buffer_limit.max(1 << 16) {
            buf.clear();
            self.spare = buf;
        }
    }
}

impl Batch {
    /// Performs the batch's I/O in log order: the old segment's tail, the switch, the
    /// group's frames, the sync.
    fn run(&self, active: &mut ActiveSegment) -> Result<()> {
        if let Some(rotation) = &self.rotation {
            if !rotation.tail.is_empty() {
                active.append(&rotation.tail)?;
            }
            active.rotate(rotation.next)?;
        }
        if !self.buf.is_empty() {
            active.append(&self.buf)?;
        }
        if self.sync {
            active.sync()?;
        }
        Ok(())
    }
}

impl Group {
    /// A writer appending to `active`, which was just created and is empty.
    pub(crate) fn new(active: ActiveSegment, limits: Limits) -> Self {
        let state = State {
            buf: Vec::new(),
            spare: Vec::new(),
            segment: active.id(),
            segment_len: SEGMENT_HEADER_LEN as u64,
            staged: 0,
            written: 0,
            synced: 0,
            sync_wanted: 0,
            io_busy: false,
            rotation: None,
            poisoned: None,
            closed: false,
        };
        Group {
            state: Mutex::new(state),
            progress: Condvar::new(),
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
        let mut st = self.lock_state();
        st.check_open()?;
        if st.segment_has_records()
            && st.segment_len >= self.limits.segment_size
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
                self.progress
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner)
            } else {
                self.lead(st)?
            };
        }
    }

    /// Takes everything staged and does its I/O outside the state lock. The leader
    /// gets its own I/O error; everyone else sees the writer poisoned.
    fn lead<'a>(&'a self, mut st: Guard<'a>) -> Result<Guard<'a>> {
        let batch = st.take_batch();
        drop(st);
        let outcome = {
            let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
            batch.run(&mut active)
        };
        let mut st = self.lock_state();
        st.finish_batch(batch, outcome.as_ref().err(), self.limits);
        self.progress.notify_all();
        outcome.map(|()| st)
    }

    /// Hands everything appended so far to the OS, finishing a pending rotation.
    pub(crate) fn flush(&self) -> Result<()> {
        let st = self.lock_state();
        st.check_open()?;
        let target = st.staged;
        self.wait_until(st, None, |s| s.written >= target && s.rotation.is_none())
            .map(drop)
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync(&self) -> Result<()> {
        let st = self.lock_state();
        st.check_open()?;
        let target = st.staged;
        self.wait_until(st, Some(target), |s| {
            s.synced >= target && s.rotation.is_none()
        })
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
            st = self.wait_until(st, None, |s| s.rotation.is_none())?;
        }
        let segment = st.segment;
        let target = st.staged;
        drop(self.wait_until(st, None, |s| s.written >= target && s.rotation.is_none())?);
        Ok(segment)
    }

    /// The segment receiving appends, after any pending rotation is on disk (so every
    /// lower segment is complete and closed).
    pub(crate) fn settled_segment(&self) -> Result<SegmentId> {
        let st = self.lock_state();
        st.check_open()?;
        let st = self.wait_until(st, None, |s| s.rotation.is_none())?;
        Ok(st.segment)
    }

    /// The segment receiving appends now.
    pub(crate) fn current_segment(&self) -> SegmentId {
        self.lock_state().segment
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
            !s.io_busy && s.synced >= target && s.rotation.is_none()
        })?;
        drop(st);
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .close()
    }
}
