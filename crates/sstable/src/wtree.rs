//! A static search tree over a sorted array of key windows (a B+-tree with one cache
//! line per node), for the index of an open table.
//!
//! A binary search over the windows of a large table's index (8 bytes per data block:
//! 230 KB for a 120 MB table) makes about 15 dependent reads, the last 7 or 8 of them
//! cache misses. Here the windows are stored in nodes of 8, one 64-byte line each, and
//! each level above holds the largest window of every node below: a search reads one
//! line per level, and the upper levels (1/8 of the size, then 1/64, ...) stay in the
//! CPU cache. For 28,000 blocks: 5 lines, of which usually one or two miss.

/// Windows per node.
const FANOUT: usize = 8;

/// One cache line of windows; slots past the end of the array hold `u64::MAX`.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Node([u64; FANOUT]);

/// The tree: level 0 holds the windows themselves, the last level is a single node.
#[derive(Debug, Default)]
pub(crate) struct WindowTree {
    len: usize,
    levels: Vec<Box<[Node]>>,
}

impl WindowTree {
    /// A tree over `windows`, which must not decrease.
    pub(crate) fn new(windows: &[u64]) -> Self {
        let mut levels = Vec::new();
        let mut level: Vec<u64> = windows.to_vec();
        loop {
            let nodes: Box<[Node]> = level
                .chunks(FANOUT)
                .map(|c| {
                    let mut node = [u64::MAX; FANOUT];
                    node[..c.len()].copy_from_slice(c);
                    Node(node)
                })
                .collect();
            // Each node's largest window: its last real one.
            level = level
                .chunks(FANOUT)
                .filter_map(|c| c.last().copied())
                .collect();
            let top = nodes.len() <= 1;
            levels.push(nodes);
            if top {
                break;
            }
        }
        WindowTree {
            len: windows.len(),
            levels,
        }
    }

    /// Window `i`, if `i < len()`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<u64> {
        if i >= self.len {
            return None;
        }
        let node = self.levels.first()?.get(i / FANOUT)?;
        Some(node.0[i % FANOUT])
    }

    /// The number of windows `< w`, as `windows.partition_point(|&x| x < w)`.
    #[inline]
    pub(crate) fn count_below(&self, w: u64) -> usize {
        let mut i = 0;
        for level in self.levels.iter().rev() {
            let Some(node) = level.get(i) else {
                return self.len;
            };
            // Branch-free: the slots are sorted, so the count of those below `w` is
            // the position of the first that is not.
            let below: usize = node.0.iter().map(|&x| usize::from(x < w)).sum();
            i = i * FANOUT + below;
        }
        i.min(self.len)
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.levels.capacity() * size_of::<Box<[Node]>>()
            + self
                .levels
                .iter()
                .map(|l| l.len() * size_of::<Node>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn counts_like_partition_point(windows: Vec<u64>, probes: Vec<u64>) -> bool {
            let mut windows = windows;
            // Few distinct values, so that runs of equal windows cross nodes.
            windows.iter_mut().for_each(|w| *w %= 50);
            windows.sort();
            let tree = WindowTree::new(&windows);
            let at_ends = [0, 1, 49, 50, u64::MAX - 1, u64::MAX];
            probes.iter().map(|p| p % 52).chain(at_ends).all(|w| {
                tree.count_below(w) == windows.partition_point(|&x| x < w)
            }) && (0..windows.len() + 2).all(|i| tree.get(i) == windows.get(i).copied())
        }
    }

    #[test]
    fn large_trees_and_max_windows() {
        let windows: Vec<u64> = (0..5000).map(|i| i * 3).chain([u64::MAX; 20]).collect();
        let tree = WindowTree::new(&windows);
        for w in (0..15_010).chain([u64::MAX - 1, u64::MAX]) {
            assert_eq!(
                tree.count_below(w),
                windows.partition_point(|&x| x < w),
                "{w}"
            );
        }
        assert_eq!(WindowTree::new(&[]).count_below(7), 0);
    }
}
