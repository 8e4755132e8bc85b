//! A binary heap of child indices ordered by a comparison the caller supplies.
//!
//! `std::collections::BinaryHeap` needs `Ord` on its items, but the merge orders
//! children by the key each child currently points at, which the heap cannot own.
//! This heap stores indices and asks the caller, at every step, whether one index
//! must come out before another.

/// A heap of indices; `before(a, b)` says whether `a` must come out before `b`.
#[derive(Debug, Default, Clone)]
pub(crate) struct IndexHeap {
    items: Vec<usize>,
}

impl IndexHeap {
    /// Empties the heap.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    /// The index that comes out first, if any.
    pub(crate) fn top(&self) -> Option<usize> {
        self.items.first().copied()
    }

    /// Adds an index.
    pub(crate) fn push(&mut self, index: usize, before: impl Fn(usize, usize) -> bool) {
        self.items.push(index);
        self.sift_up(self.items.len() - 1, &before);
    }

    /// Removes the top index.
    pub(crate) fn pop(&mut self, before: impl Fn(usize, usize) -> bool) {
        if self.items.is_empty() {
            return;
        }
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        self.items.pop();
        self.sift_down(0, &before);
    }

    /// Restores the order after the top index's key changed.
    pub(crate) fn top_changed(&mut self, before: impl Fn(usize, usize) -> bool) {
        self.sift_down(0, &before);
    }

    fn sift_up(&mut self, mut at: usize, before: &impl Fn(usize, usize) -> bool) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if !before(self.items[at], self.items[parent]) {
                break;
            }
            self.items.swap(at, parent);
            at = parent;
        }
    }

    fn sift_down(&mut self, mut at: usize, before: &impl Fn(usize, usize) -> bool) {
        let len = self.items.len();
        loop {
            let mut first = at;
            for child in [2 * at + 1, 2 * at + 2] {
                if child < len && before(self.items[child], self.items[first]) {
                    first = child;
                }
            }
            if first == at {
                return;
            }
            self.items.swap(at, first);
            at = first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn pops_in_order(values: Vec<u8>) -> bool {
            let before = |a: usize, b: usize| (values[a], a) < (values[b], b);
            let mut heap = IndexHeap::default();
            for i in 0..values.len() {
                heap.push(i, before);
            }
            let mut out = Vec::new();
            while let Some(top) = heap.top() {
                out.push((values[top], top));
                heap.pop(before);
            }
            let mut want: Vec<_> = values.iter().copied().zip(0..).collect();
            want.sort();
            out == want
        }
    }
}
