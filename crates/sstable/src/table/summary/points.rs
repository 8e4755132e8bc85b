//! The points of a block summary, and where they are kept: inline in the summary when
//! they are few (the common case: 9 for a 4 KiB block of 100-byte values), so that a
//! lookup reads them from the summary's own cache lines instead of following a
//! pointer to another allocation, which was one more dependent cache miss per lookup.

/// Bit of [`Point::offset`] marking a restart point.
pub(super) const RESTART: u32 = 1 << 31;
/// Points kept inline; more go to the heap.
const INLINE: usize = 9;

/// Where a seek may start: a restart entry whose key is `< target`, or an entry after
/// a key that is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point {
    /// Window of the restart key's user key, or for a point inside an interval of the
    /// previous entry's user key (see `KeyWindows`), as two halves: 12-byte points.
    window: [u32; 2],
    /// Position of the entry, relative to the block's start; [`RESTART`] set on
    /// restart points.
    offset: u32,
}

impl Point {
    pub(super) fn new(window: u64, offset: usize, restart: bool) -> Point {
        // Restart points are u32 offsets in the format; a block of 2 GiB or more is
        // not summarized in windows (see `BlockSummary::build`).
        let offset = u32::try_from(offset).unwrap_or(u32::MAX) & !RESTART;
        Point {
            window: [(window >> 32) as u32, window as u32],
            offset: if restart { offset | RESTART } else { offset },
        }
    }

    #[inline]
    pub(super) fn window(&self) -> u64 {
        u64::from(self.window[0]) << 32 | u64::from(self.window[1])
    }

    #[inline]
    pub(super) fn offset(&self) -> usize {
        (self.offset & !RESTART) as usize
    }

    #[inline]
    pub(super) fn is_restart(&self) -> bool {
        self.offset & RESTART != 0
    }
}

/// A block's points, inline or on the heap.
#[derive(Debug)]
pub(super) enum Points {
    /// The first `.0` of the array.
    Inline(u8, [Point; INLINE]),
    Heap(Box<[Point]>),
}

impl Points {
    /// Keeps `points`.
    pub(super) fn new(points: Vec<Point>) -> Points {
        match u8::try_from(points.len()) {
            Ok(n) if points.len() <= INLINE => {
                let mut inline = [Point::new(0, 0, false); INLINE];
                inline[..points.len()].copy_from_slice(&points);
                Points::Inline(n, inline)
            }
            _ => Points::Heap(points.into()),
        }
    }

    /// The points, in order.
    #[inline]
    pub(super) fn as_slice(&self) -> &[Point] {
        match self {
            Points::Inline(n, inline) => inline.get(..usize::from(*n)).unwrap_or_default(),
            Points::Heap(points) => points,
        }
    }

    /// Heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Points::Inline(..) => 0,
            Points::Heap(points) => points.len() * size_of::<Point>(),
        }
    }
}
