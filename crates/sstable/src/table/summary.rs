//! What an open table keeps of a data block once it has read it: where the block's
//! restart array lies and a sorted list of *points* to start a seek from: every
//! restart point, with its key's window, and every [`STRIDE`]-th entry of each restart
//! interval, with the window of the key just before it.
//!
//! A seek picks its starting point from this summary, in memory, and then reads only
//! the cache lines up to the next point. Without it, a seek into a cold block waits for
//! the restart array at the block's end, then for each restart key of a binary search,
//! then for the entries: dependent reads, each a cache miss (and a TLB miss) of its
//! own. With restart points alone, a lookup still decoded half a restart interval on
//! average (8 entries, 30 cache lines with 100-byte values); the points inside the
//! intervals cut that to about 2 entries. A scan can start at an entry that is not a
//! restart (whose key is stored as a suffix of the previous one) because the previous
//! key's window says where it first differs from the target, which is all the scan
//! needs (`seek::scan_from`).
//!
//! A summary is built on the first lookup or seek in the block, after its checksum is
//! verified, so it derives from verified bytes only. Scans do not build summaries.
//! Points are 12 bytes; up to 9 (a 4 KiB block of 100-byte values has 9) are kept
//! inline, so a block's slot (about 170 bytes; `Table` allocates them 64 blocks at a
//! time) holds its summary without a second allocation; only blocks with more points
//! use the heap.

use std::path::Path;

use crate::block::seek::Candidates;
use crate::block::{BlockLayout, entry_header, short_header};
use crate::origin::corruption;
use crate::window::{KeyWindows, Place};
use crate::{KeyRef, Result, TRAILER_LEN};

mod points;

use points::{Point, Points, RESTART};

/// Entries between two points inside a restart interval.
const STRIDE: usize = 4;

/// The in-memory summary of one data block.
#[derive(Debug)]
pub(crate) struct BlockSummary {
    /// Position of the block in the file (kept here so that a lookup need not read
    /// the index's handles: one cache miss less); 0 for a block stored compressed,
    /// whose positions are in its decompressed bytes.
    start: usize,
    /// Position of the restart array, relative to the block's start.
    entries_len: usize,
    /// Number of restart points (a u32 in the format).
    num_restarts: u32,
    /// The points, in block order; their windows never decrease.
    points: Points,
    /// Whether every point's key (see [`Point`]) starts with the table's key prefix,
    /// so that windows decide comparisons, and the entries decoded; if not, seeks
    /// binary-search the restart keys in the block.
    windowed: bool,
    /// Whether the block is stored compressed: its positions are then in its
    /// decompressed bytes (any copy of them, from the block cache or decompressed
    /// anew), not in the map.
    compressed: bool,
    /// The length of the shortest user key before a point inside an interval, at most
    /// `u32::MAX`.
    min_user_len: u32,
    /// Points per restart interval when every interval has as many (restart point `r`
    /// is then point `r * per_interval`, found without a search); else 0.
    per_interval: u32,
}

/// Where a point lookup starts scanning: see [`BlockSummary::get_start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GetStart {
    /// The entry to start from, relative to the block's start.
    pub(crate) from: usize,
    /// Where the next point starts (or the restart array): the entry sought lies
    /// before it, unless windows tied.
    pub(crate) to: usize,
    /// `None` if `from` is a restart entry; else what is known of the key before it,
    /// as `seek::scan_from` takes it.
    pub(crate) below: Option<usize>,
    /// Which point `from` is.
    point: usize,
    /// Whether the entry sought is known to lie before `to` (or to be the restart
    /// entry there): the next point's window is above the target's.
    exact: bool,
}

impl BlockSummary {
    /// Summarizes the verified block `layout` of `data`: decodes its restart points and
    /// restart keys (checking them as a seek would), and walks its entries for the
    /// points inside the intervals.
    pub(crate) fn build(
        data: &[u8],
        layout: &BlockLayout,
        file: &Path,
        windows: &KeyWindows,
    ) -> Result<Self> {
        let mut points = Vec::with_capacity(layout.num_restarts * 4);
        let mut walk = Walk {
            windowed: layout.restarts - layout.start < RESTART as usize,
            min_user_len: usize::MAX,
            key: Vec::new(),
        };
        for r in 0..layout.num_restarts {
            let pos = layout.restart_point(data, r, file)?;
            let h = entry_header(data, layout, file, pos)?;
            let key = &data[h.delta_start..h.delta_start + h.delta_len];
            let user_len = key.len().checked_sub(TRAILER_LEN);
            let (Some(user_len), 0) = (user_len, h.shared) else {
                let reason = "restart entry is not a whole internal key";
                return Err(corruption(file, layout.id, pos as u64, reason));
            };
            let window = windows.window_of(&key[..user_len]);
            walk.windowed &= window.is_some();
            points.push(Point::new(
                window.unwrap_or_default(),
                pos - layout.start,
                true,
            ));
            let end = match r + 1 < layout.num_restarts {
                true => layout.restart_point(data, r + 1, file)?,
                false => layout.restarts,
            };
            if walk.windowed {
                walk.interval(data, layout, windows, pos..end, &mut points);
            }
        }
        let in_order = points.windows(2).all(|p| p[0].window() <= p[1].window());
        let per_interval = uniform_intervals(&points, layout.num_restarts);
        Ok(BlockSummary {
            per_interval,
            start: layout.start,
            entries_len: layout.restarts - layout.start,
            num_restarts: u32::try_from(layout.num_restarts).unwrap_or(u32::MAX),
            windowed: walk.windowed && in_order,
            compressed: false,
            min_user_len: u32::try_from(walk.min_user_len).unwrap_or(u32::MAX),
            points: Points::new(points),
        })
    }

    /// Marks the summary as one of a block stored compressed (see `compressed`).
    pub(crate) fn of_compressed_block(mut self) -> Self {
        self.compressed = true;
        self
    }

    /// Whether the block is stored compressed: its positions are in its decompressed
    /// bytes.
    #[inline]
    pub(crate) fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Heap bytes of the summary.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.points.heap_bytes()
    }

    /// The points, in block order.
    #[inline]
    fn points(&self) -> &[Point] {
        self.points.as_slice()
    }

    /// The block's layout, given which block it is.
    #[inline]
    pub(crate) fn layout(&self, id: crate::origin::BlockId) -> BlockLayout {
        BlockLayout {
            id,
            start: self.start,
            restarts: self.start + self.entries_len,
            num_restarts: self.num_restarts as usize,
        }
    }

    /// Where a point lookup for `target` starts: the last point known to be before the
    /// first entry `>= target`. `None` if windows cannot tell (then the lookup starts
    /// from a restart point, as a cursor seek does). Requires: the block has entries.
    #[inline]
    pub(crate) fn get_start(&self, windows: &KeyWindows, target: KeyRef<'_>) -> Option<GetStart> {
        if !self.windowed {
            return None;
        }
        let Place::At(w) = windows.place(target.user_key) else {
            return None;
        };
        let less = self.points().partition_point(|p| p.window() < w);
        let next = self.points().get(less);
        let after_tie = self.points().get(less + 1).map(Point::window);
        if next.is_some_and(|p| p.window() == w) && after_tie == Some(w) {
            // Several tied points: the restart keys' bytes may tell more.
            return None;
        }
        let mut start = GetStart {
            from: 0,
            to: next.map_or(self.entries_len, Point::offset),
            below: None,
            point: 0,
            exact: next.is_none_or(|p| p.window() > w),
        };
        let Some(p) = less.checked_sub(1).and_then(|i| self.points().get(i)) else {
            return Some(start);
        };
        (start.from, start.point) = (p.offset(), less - 1);
        if p.is_restart() {
            return Some(start);
        }
        // The previous key is below the target: where do they first differ? Both
        // share the table's prefix and, within the window, the leading equal bytes.
        let m = windows.prefix_len() + ((p.window() ^ w).leading_zeros() / 8) as usize;
        // It must be a real byte of the previous key, not window padding (it is one of
        // the target: its byte there is above the other's, so not a zero of padding).
        let real = m < self.min_user_len as usize && m < target.user_key.len();
        start.below = Some(m);
        real.then_some(start)
    }

    /// Where a cursor seek for `target` starts, when it can start inside a restart
    /// interval: the restart point of that interval and the start. `None` when it
    /// starts at a restart point (see [`BlockSummary::candidates`]).
    #[inline]
    pub(crate) fn cursor_start(
        &self,
        windows: &KeyWindows,
        target: KeyRef<'_>,
    ) -> Option<(usize, GetStart)> {
        let k = self.per_interval as usize;
        let s = self.get_start(windows, target)?;
        // A cursor's scan must end in the interval or on the next restart entry.
        (k > 0 && s.below.is_some() && s.exact).then_some((s.point / k, s))
    }

    /// The restart points a seek for `target` may start from: the last one whose key
    /// is `< target` (restart point 0 if none is). `None` for a block without entries.
    #[inline]
    pub(crate) fn candidates(
        &self,
        windows: &KeyWindows,
        target: KeyRef<'_>,
    ) -> Option<Candidates> {
        let last = (self.num_restarts as usize).checked_sub(1)?;
        let all = Candidates { lo: 0, hi: last };
        if !self.windowed {
            return Some(all);
        }
        let w = match windows.place(target.user_key) {
            Place::Before => return Some(Candidates { lo: 0, hi: 0 }),
            Place::After => return Some(Candidates { lo: last, hi: last }),
            Place::At(w) => w,
        };
        // Smaller windows are smaller keys, larger ones larger keys: the restart points
        // below `less` are < target, those from `less + tied` on are > target.
        let less = self.points().partition_point(|p| p.window() < w);
        let tied = self.points()[less..].partition_point(|p| p.window() == w);
        let restarts_in = |n: usize| match self.per_interval as usize {
            0 => self.points()[..n].iter().filter(|p| p.is_restart()).count(),
            k => n.div_ceil(k),
        };
        Some(Candidates {
            lo: restarts_in(less).saturating_sub(1),
            hi: restarts_in(less + tied).saturating_sub(1),
        })
    }

    /// The range of restart interval `r`, relative to the block's start: from its
    /// restart entry to the next restart point or the restart array.
    /// Requires: `r` is a restart point of the block.
    #[inline]
    pub(crate) fn interval(&self, r: usize) -> (usize, usize) {
        let (start, end) = match self.per_interval as usize {
            0 => {
                let mut restarts = self.points().iter().filter(|p| p.is_restart()).skip(r);
                (restarts.next(), restarts.next())
            }
            k => (self.points().get(r * k), self.points().get((r + 1) * k)),
        };
        let start = start.map_or(0, Point::offset);
        let end = end.map_or(self.entries_len, Point::offset);
        (start, end.max(start))
    }
}

/// The number of points per restart interval if every interval has as many, else 0.
fn uniform_intervals(points: &[Point], num_restarts: usize) -> u32 {
    let k = points
        .iter()
        .skip(1)
        .position(Point::is_restart)
        .map_or(points.len(), |i| i + 1);
    let uniform = k > 0
        && points.len().div_ceil(k) == num_restarts
        && points
            .iter()
            .enumerate()
            .all(|(i, p)| p.is_restart() == (i % k == 0));
    if uniform {
        u32::try_from(k).unwrap_or(0)
    } else {
        0
    }
}

/// The state of the walk over a block's entries that finds the points inside the
/// restart intervals.
struct Walk {
    /// Whether every key before a point so far has a window.
    windowed: bool,
    /// The shortest user key before a point so far.
    min_user_len: usize,
    /// Scratch space for the keys.
    key: Vec<u8>,
}

impl Walk {
    /// Walks the restart interval at `range` (absolute positions), adding to `points`
    /// every `STRIDE`-th entry after its restart entry. Entries that do not decode
    /// clear `windowed` (seeks then read the block as they always could, and report
    /// the damage); the walk never fails itself.
    fn interval(
        &mut self,
        data: &[u8],
        layout: &BlockLayout,
        windows: &KeyWindows,
        range: std::ops::Range<usize>,
        points: &mut Vec<Point>,
    ) {
        let (mut pos, mut prev_window) = (range.start, None);
        self.key.clear();
        let mut n = 0;
        let entries = data.get(..layout.restarts).unwrap_or_default();
        while pos < range.end {
            // The inline decoder first: a table's first read of each block (say, a
            // compaction's scan) pays for this walk.
            let h = match short_header(entries, pos) {
                Some(h) => h,
                None => match entry_header(data, layout, Path::new(""), pos) {
                    Ok(h) => h,
                    Err(_) => break,
                },
            };
            if h.shared > self.key.len() || h.end() > range.end {
                break;
            }
            if n > 0 && n % STRIDE == 0 {
                let Some(w) = prev_window else { break };
                points.push(Point::new(w, pos - layout.start, false));
            }
            self.key.truncate(h.shared);
            self.key
                .extend_from_slice(&data[h.delta_start..h.value_start]);
            let Some(user_len) = self.key.len().checked_sub(TRAILER_LEN) else {
                break;
            };
            // Only the keys just before points matter.
            if (n + 1) % STRIDE == 0 {
                self.min_user_len = self.min_user_len.min(user_len);
                prev_window = windows.window_of(&self.key[..user_len]);
            }
            (pos, n) = (h.end(), n + 1);
        }
        self.windowed &= pos == range.end;
    }
}
