//! The writer's bookkeeping (what is staged, written, synced; the pending rotation)
//! and the batch a leader carries out. All of it is read and changed only under the
//! group's state lock; see the protocol in the parent module.

use std::mem;
use std::time::Duration;

use super::{Limits, MAX_GATHER};
use crate::active::ActiveSegment;
use crate::format::SEGMENT_HEADER_LEN;
use crate::{Error, Result, SegmentId, record};

/// The writer's progress and staged frames. Counts are bytes of frames since the
/// writer started, so `staged >= written >= synced` always holds.
#[derive(Debug)]
pub(super) struct State {
    /// Frames staged but not yet taken by a leader, all for `segment`.
    pub(super) buf: Vec<u8>,
    /// An empty buffer kept for reuse, so steady-state appends do not allocate.
    pub(super) spare: Vec<u8>,
    /// The segment receiving new frames.
    pub(super) segment: SegmentId,
    /// Its length once everything staged is written: the next frame's offset.
    pub(super) segment_len: u64,
    /// Accepted into the buffer.
    pub(super) staged: u64,
    /// Handed to the OS.
    pub(super) written: u64,
    /// Durable.
    pub(super) synced: u64,
    /// The highest `staged` count some waiter needs synced.
    pub(super) sync_wanted: u64,
    /// A leader is doing I/O.
    pub(super) io_busy: bool,
    /// Synced appends among the frames in `buf`.
    pub(super) synced_in_buf: usize,
    /// Synced appends the last sync carried: the group a gathering leader waits for.
    pub(super) last_sync_group: usize,
    /// How long a leader may gather: half the duration of the last synced batch.
    pub(super) gather_window: Duration,
    /// A leader is gathering and wants to hear of every staged synced record.
    pub(super) gathering: bool,
    /// Threads blocked on `progress`. Waking a condvar costs a syscall even with no
    /// one waiting, which would dominate a single thread's `Os` appends.
    pub(super) waiters: usize,
    /// A switch to the next segment that no leader has taken yet.
    pub(super) rotation: Option<Rotation>,
    /// The newest segment whose file exists, header synced: `segment` once every
    /// switch is done. A leader takes the rotation out of `rotation` before its I/O,
    /// so `rotation.is_none()` alone does not say the new file exists; whoever
    /// needs the switch on disk waits for [`State::settled`].
    pub(super) on_disk: SegmentId,
    /// Description of the first failed write or sync; the writer accepts nothing after.
    pub(super) poisoned: Option<String>,
    /// `close` was called: appends are refused.
    pub(super) closed: bool,
    /// How far the current segment was durable when its last sync mark was staged
    /// (its length when the writer started in it): a new mark is staged only for a
    /// sync that got further.
    pub(super) marked: u64,
}

/// A scheduled switch to a new segment.
#[derive(Debug)]
pub(super) struct Rotation {
    /// The old segment's last unwritten bytes.
    pub(super) tail: Vec<u8>,
    /// `staged` when the rotation was scheduled: everything up to it is in the old
    /// segment, so it is synced once the rotation is done.
    pub(super) tail_end: u64,
    /// The segment to continue in.
    pub(super) next: SegmentId,
    /// The old segment's length once the tail is written: what its file holds after
    /// the switch cuts its preallocated space off.
    pub(super) old_len: u64,
}

/// What one leader does.
#[derive(Debug)]
pub(super) struct Batch {
    /// A segment switch to carry out first.
    pub(super) rotation: Option<Rotation>,
    /// The group's frames, for the segment the writer is in after the switch.
    pub(super) buf: Vec<u8>,
    /// `staged` when the batch was taken: the count reached once it is done.
    pub(super) end: u64,
    /// Whether to `fdatasync` after writing.
    pub(super) sync: bool,
    /// Synced appends in the group: the size the next gathering leader waits for.
    pub(super) synced_records: usize,
}

impl State {
    /// A writer continuing `segment`, whose next frame goes at `segment_len`.
    pub(super) fn new(segment: SegmentId, segment_len: u64) -> Self {
        State {
            buf: Vec::new(),
            spare: Vec::new(),
            segment,
            segment_len,
            staged: 0,
            written: 0,
            synced: 0,
            sync_wanted: 0,
            io_busy: false,
            synced_in_buf: 0,
            last_sync_group: 0,
            gather_window: Duration::ZERO,
            gathering: false,
            waiters: 0,
            rotation: None,
            on_disk: segment,
            poisoned: None,
            closed: false,
            marked: segment_len,
        }
    }

    pub(super) fn check_open(&self) -> Result<()> {
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

    /// No switch is pending or under way: `segment`'s file exists and every lower
    /// segment is finished.
    pub(super) fn settled(&self) -> bool {
        self.rotation.is_none() && self.on_disk == self.segment
    }

    pub(super) fn segment_has_records(&self) -> bool {
        self.segment_len > SEGMENT_HEADER_LEN as u64
    }

    pub(super) fn has_unwritten(&self) -> bool {
        !self.buf.is_empty() || self.rotation.is_some()
    }

    /// Moves the current segment's unwritten bytes into a pending rotation and points
    /// staging at the next segment. Requires: no rotation pending.
    pub(super) fn schedule_rotation(&mut self) {
        let tail = mem::replace(&mut self.buf, mem::take(&mut self.spare));
        let next = self.segment.next();
        self.rotation = Some(Rotation {
            tail,
            tail_end: self.staged,
            next,
            old_len: self.segment_len,
        });
        self.segment = next;
        self.segment_len = SEGMENT_HEADER_LEN as u64;
        self.marked = self.segment_len;
    }

    /// After a sync: stages a sync mark saying how far the current segment is durable
    /// now, so that recovery can tell damage to synced records from the unsynced
    /// pages a power loss left out of order (`docs/format/wal.md`, "Sync marks").
    /// Nothing while a switch is pending (the sync covered the old segment, which the
    /// switch syncs whole anyway) or after `close`.
    fn stage_sync_mark(&mut self) {
        if self.closed || self.rotation.is_some() || self.on_disk != self.segment {
            return;
        }
        // Everything staged after the synced count is in the current segment.
        let Some(through) = self.segment_len.checked_sub(self.staged - self.synced) else {
            return;
        };
        if through <= self.marked {
            return;
        }
        record::encode_sync_mark(&mut self.buf, self.segment, self.segment_len, through);
        let framed = record::SYNC_MARK_FRAME_LEN as u64;
        self.segment_len += framed;
        self.staged += framed;
        self.marked = through;
    }

    pub(super) fn take_batch(&mut self) -> Batch {
        self.io_busy = true;
        Batch {
            rotation: self.rotation.take(),
            buf: mem::replace(&mut self.buf, mem::take(&mut self.spare)),
            end: self.staged,
            sync: self.sync_wanted > self.synced,
            synced_records: mem::take(&mut self.synced_in_buf),
        }
    }

    pub(super) fn finish_batch(
        &mut self,
        batch: Batch,
        outcome: Result<Duration, &Error>,
        limits: Limits,
    ) {
        self.io_busy = false;
        match outcome {
            Ok(took) => {
                self.written = batch.end;
                if let Some(rotation) = &batch.rotation {
                    self.on_disk = rotation.next;
                }
                if batch.sync {
                    self.synced = batch.end;
                    self.last_sync_group = batch.synced_records;
                    self.gather_window = (took / 2).min(MAX_GATHER);
                    self.stage_sync_mark();
                } else if let Some(rotation) = &batch.rotation {
                    self.synced = self.synced.max(rotation.tail_end);
                }
            }
            Err(error) => {
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
    pub(super) fn run(&self, active: &mut ActiveSegment) -> Result<()> {
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
