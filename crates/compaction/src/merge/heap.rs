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
    /// The position (1 or 2) of the root's first child, once compared: valid while
    /// only the root changes. A merge mostly steps the top child and sees it stay on
    /// top, so this halves the comparisons of those steps (see [`Self::top_changed`]).
    runner_up: Option<usize>,
}

impl IndexHeap {
    /// Empties the heap.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.runner_up = None;
    }

    /// Makes room for `n` indices without growing one at a time.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
    }

    /// The number of indices held.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The index that comes out first, if any.
    pub(crate) fn top(&self) -> Option<usize> {
        self.items.first().copied()
    }

    /// Adds an index.
    pub(crate) fn push(&mut self, index: usize, before: impl Fn(usize, usize) -> bool) {
        self.items.push(index);
        self.runner_up = None;
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
        self.runner_up = None;
        self.sift_down(0, &before);
    }

    /// The index that comes out after the top, when known without a comparison: the
    /// root's smaller child, remembered by [`Self::top_changed`] while only the top's
    /// key has changed since.
    #[inline]
    pub(crate) fn known_runner_up(&self) -> Option<usize> {
        self.runner_up.and_then(|at| self.items.get(at).copied())
    }

    /// Restores the order after the top index's key changed.
    ///
    /// The top stays on top iff it comes before the smaller of the root's children
    /// (each child comes before its whole subtree); that child is remembered, so when
    /// the top stays this costs one comparison instead of two.
    #[inline]
    pub(crate) fn top_changed(&mut self, before: impl Fn(usize, usize) -> bool) {
        let len = self.items.len();
        if len < 2 {
            return;
        }
        let runner_up = match self.runner_up {
            Some(r) => r,
            None if len > 2 && before(self.items[2], self.items[1]) => 2,
            None => 1,
        };
        if !before(self.items[runner_up], self.items[0]) {
            self.runner_up = Some(runner_up);
            return;
        }
        self.items.swap(0, runner_up);
        self.runner_up = None;
        self.sift_down(runner_up, &before);
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

        fn top_changes_keep_the_order(values: Vec<u8>, changes: Vec<u8>) -> bool {
            // A merge's walk: the top's key grows, it is re-placed, the new top is read.
            let mut values = values;
            let mut heap = IndexHeap::default();
            for i in 0..values.len() {
                heap.push(i, |a: usize, b: usize| (values[a], a) < (values[b], b));
            }
            for change in changes {
                let Some(top) = heap.top() else { return true };
                let smallest = (0..values.len()).map(|i| (values[i], i)).min();
                if Some((values[top], top)) != smallest {
                    return false;
                }
                values[top] = values[top].saturating_add(change % 8);
                heap.top_changed(|a: usize, b: usize| (values[a], a) < (values[b], b));
            }
            true
        }
    }
}
