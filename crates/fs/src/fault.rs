//! Fault plans: which operations of a [`crate::SimFs`] fail, and how.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::Op;

/// How an operation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// ENOSPC: the device is full. Nothing is written.
    NoSpace,
    /// EIO: the device failed. Nothing is written.
    Io,
    /// An append writes the first half of its buffer, then fails with EIO; any other
    /// operation fails with EIO.
    ShortWrite,
}

impl Fault {
    /// The error the operation returns.
    pub(crate) fn to_io_error(self) -> io::Error {
        match self {
            Fault::NoSpace => io::Error::new(io::ErrorKind::StorageFull, "injected ENOSPC"),
            Fault::Io | Fault::ShortWrite => eio(),
        }
    }
}

#[cfg(unix)]
fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

#[cfg(not(unix))]
fn eio() -> io::Error {
    io::Error::other("injected EIO")
}

type Predicate = Arc<dyn Fn(Op, &Path) -> bool + Send + Sync>;

#[derive(Clone)]
enum Trigger {
    Nth(u64),
    From(u64),
    Matching(Predicate),
}

/// A set of rules saying which operations fail. Operations are counted from 0 when the
/// plan is installed with [`crate::SimFs::set_faults`]; every call of the file-system
/// trait and of the files it hands out counts as one operation, failed ones included.
#[derive(Clone, Default)]
pub struct FaultPlan {
    rules: Vec<(Trigger, Fault)>,
}

impl FaultPlan {
    /// A plan that fails nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `n`-th operation (0-based) fails.
    pub fn fail_nth(mut self, n: u64, fault: Fault) -> Self {
        self.rules.push((Trigger::Nth(n), fault));
        self
    }

    /// The `n`-th operation and every later one fail: a process that died at that
    /// point, after which nothing more reaches the disk.
    pub fn fail_from(mut self, n: u64, fault: Fault) -> Self {
        self.rules.push((Trigger::From(n), fault));
        self
    }

    /// Every operation for which `pred(op, path)` holds fails.
    pub fn fail_matching(
        mut self,
        pred: impl Fn(Op, &Path) -> bool + Send + Sync + 'static,
        fault: Fault,
    ) -> Self {
        self.rules.push((Trigger::Matching(Arc::new(pred)), fault));
        self
    }

    /// The fault for operation number `index`, if the plan fails it.
    pub(crate) fn check(&self, index: u64, op: Op, path: &Path) -> Option<Fault> {
        self.rules.iter().find_map(|(trigger, fault)| {
            let hit = match trigger {
                Trigger::Nth(n) => index == *n,
                Trigger::From(n) => index >= *n,
                Trigger::Matching(pred) => pred(op, path),
            };
            hit.then_some(*fault)
        })
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (trigger, fault) in &self.rules {
            match trigger {
                Trigger::Nth(n) => list.entry(&format_args!("op {n}: {fault:?}")),
                Trigger::From(n) => list.entry(&format_args!("ops {n}..: {fault:?}")),
                Trigger::Matching(_) => list.entry(&format_args!("matching: {fault:?}")),
            };
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_select_the_right_operations() {
        let plan = FaultPlan::new()
            .fail_nth(2, Fault::NoSpace)
            .fail_from(10, Fault::Io)
            .fail_matching(
                |op, p| op == Op::SyncDir && p.ends_with("x"),
                Fault::ShortWrite,
            );
        let p = Path::new("/d/f");
        assert_eq!(plan.check(1, Op::Append, p), None);
        assert_eq!(plan.check(2, Op::Append, p), Some(Fault::NoSpace));
        assert_eq!(plan.check(3, Op::Append, p), None);
        assert_eq!(plan.check(11, Op::Read, p), Some(Fault::Io));
        assert_eq!(
            plan.check(4, Op::SyncDir, Path::new("/x")),
            Some(Fault::ShortWrite)
        );
        assert!(Fault::NoSpace.to_io_error().kind() == io::ErrorKind::StorageFull);
    }
}
