//! The linearizability checker: is there an order of the operations, each placed
//! between its call and its return, in which every read sees the latest write?
//!
//! The approach of Porcupine (Go) and Knossos (Clojure). A key-value store is a
//! register per key and every operation touches one key, so the history splits into
//! one history per key, checked alone (P-compositionality: the whole is linearizable
//! iff every part is). Each part is searched with the Wing–Gong–Lowe algorithm: walk
//! the calls and returns in time order, tentatively linearize a call whose operation
//! the register allows, backtrack at a return whose operation was not linearized yet,
//! and remember every (set of linearized operations, register value) reached, so no
//! configuration is explored twice.
//!
//! An operation of unknown outcome returns after everything: it may take effect at
//! any point after its call, or (placed last) never. Reads of unknown outcome say
//! nothing and are dropped. So are puts of unknown outcome whose value no read
//! returned: if a linearization has such a put take effect, no read falls between it
//! and the next write (none returned its value), so removing it leaves every read's
//! value unchanged, and the history with it is linearizable iff the one without it
//! is. Each such put would otherwise stay concurrent with everything after its call
//! and multiply the search (a killed leader leaves several). And a put of unknown
//! outcome whose value a read did return took effect before that read returned
//! (values are unique per put), so its return is set to the earliest such read's.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::history::{Op, Operation, Output};

/// The checker's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's history is linearizable.
    Linearizable {
        /// Keys checked.
        keys: usize,
        /// Operations checked (reads of unknown outcome excluded).
        operations: usize,
    },
    /// The history of `key` has no linearization.
    Violation {
        /// The key.
        key: String,
        /// Its operations, in call order.
        operations: Vec<Operation>,
    },
    /// The search of `key` took more than the step budget; nothing is proven.
    Undecided {
        /// The key.
        key: String,
    },
}

/// Search steps allowed per key before giving up with [`Verdict::Undecided`].
pub const STEP_BUDGET: u64 = 50_000_000;

/// Checks `history`.
pub fn check(history: &[Operation]) -> Verdict {
    let mut first_read: HashMap<(&str, &str), u64> = HashMap::new();
    for o in history {
        if let (Output::Read(Some(value)), Some(ret)) = (&o.output, o.ret) {
            let earliest = first_read
                .entry((o.key.as_str(), value.as_str()))
                .or_insert(ret);
            *earliest = (*earliest).min(ret);
        }
    }
    let bounded: Vec<Operation> = history
        .iter()
        .map(|o| match (&o.op, &o.output) {
            (Op::Put(value), Output::Unknown) => {
                let ret = first_read.get(&(o.key.as_str(), value.as_str())).copied();
                Operation {
                    ret: ret.map(|r| r.max(o.call)),
                    ..o.clone()
                }
            }
            _ => o.clone(),
        })
        .collect();
    let history = &bounded;
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for operation in history {
        let silent = match (&operation.op, &operation.output) {
            (Op::Get, Output::Unknown) => true,
            (Op::Put(value), Output::Unknown) => {
                !first_read.contains_key(&(operation.key.as_str(), value.as_str()))
            }
            _ => false,
        };
        if !silent {
            by_key.entry(&operation.key).or_default().push(operation);
        }
    }
    let operations = by_key.values().map(Vec::len).sum();
    for (key, ops) in &by_key {
        match check_register(ops, STEP_BUDGET) {
            Some(true) => {}
            Some(false) => {
                let mut operations: Vec<Operation> = ops.iter().map(|&o| o.clone()).collect();
                operations.sort_by_key(|o| o.call);
                return Verdict::Violation {
                    key: (*key).to_owned(),
                    operations,
                };
            }
            None => {
                return Verdict::Undecided {
                    key: (*key).to_owned(),
                };
            }
        }
    }
    Verdict::Linearizable {
        keys: by_key.len(),
        operations,
    }
}

/// The register's value: an interned value, or absent.
type State = Option<u32>;

/// An operation with its values interned.
#[derive(Debug, Clone, Copy)]
enum Step {
    Write(State),
    Read(State),
}

impl Step {
    /// The state after this step from `state`, or `None` if the register forbids it.
    fn apply(self, state: State) -> Option<State> {
        match self {
            Step::Write(new) => Some(new),
            Step::Read(seen) => (seen == state).then_some(state),
        }
    }
}

fn intern(ops: &[&Operation]) -> Vec<Step> {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut id = |value: Option<&String>| -> State {
        let value = value?;
        let next = ids.len() as u32;
        Some(*ids.entry(value.clone()).or_insert(next))
    };
    ops.iter()
        .map(|o| match (&o.op, &o.output) {
            (Op::Put(value), _) => Step::Write(id(Some(value))),
            (Op::Delete, _) => Step::Write(None),
            (Op::Get, Output::Read(value)) => Step::Read(id(value.as_ref())),
            // A read without a value was filtered out; one with a write's output
            // cannot be satisfied, which is what a malformed history deserves.
            (Op::Get, _) => Step::Read(Some(u32::MAX)),
        })
        .collect()
}

/// A doubly linked list of call and return events in time order; linearizing an
/// operation lifts its two events out, backtracking puts them back.
struct Events {
    /// For node `i < 2n`: operation `i / 2`, call if even.
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The node after `head` is the first event; `NONE` ends the list.
    head: usize,
}

const NONE: usize = usize::MAX;

impl Events {
    fn new(ops: &[&Operation]) -> Events {
        let n = ops.len();
        let mut order: Vec<usize> = (0..2 * n).collect();
        let time = |node: usize| {
            let op = ops[node / 2];
            if node.is_multiple_of(2) {
                op.call
            } else {
                op.ret.unwrap_or(u64::MAX)
            }
        };
        // Time order; at equal times calls first, which allows the most orders.
        order.sort_by_key(|&node| (time(node), node % 2));
        let head = 2 * n;
        let mut next = vec![NONE; 2 * n + 1];
        let mut prev = vec![NONE; 2 * n + 1];
        let mut last = head;
        for &node in &order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        Events { next, prev, head }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NONE {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NONE {
            self.prev[n] = node;
        }
    }

    /// Takes operation `op`'s call and return out of the list.
    fn lift(&mut self, op: usize) {
        self.unlink(2 * op);
        self.unlink(2 * op + 1);
    }

    /// Puts them back (in the reverse order of [`Events::lift`]).
    fn unlift(&mut self, op: usize) {
        self.relink(2 * op + 1);
        self.relink(2 * op);
    }
}

/// Whether one register's history is linearizable; `None` past `budget` steps.
fn check_register(ops: &[&Operation], budget: u64) -> Option<bool> {
    let steps = intern(ops);
    let mut events = Events::new(ops);
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut state: State = None;
    let mut node = events.next[events.head];
    for _ in 0..budget {
        if node == NONE {
            // A walk meets a return before the end of a non-empty list (every call
            // precedes its return), so the list is empty: all linearized.
            return Some(true);
        }
        let op = node / 2;
        if node.is_multiple_of(2) {
            if let Some(after) = steps[op].apply(state) {
                linearized[op / 64] |= 1 << (op % 64);
                if seen.insert((linearized.clone(), after)) {
                    stack.push((op, state));
                    state = after;
                    events.lift(op);
                    node = events.next[events.head];
                    continue;
                }
                linearized[op / 64] &= !(1 << (op % 64));
            }
            node = events.next[node];
        } else {
            // A return whose operation is not linearized yet: undo the last choice.
            let Some((undo, before)) = stack.pop() else {
                return Some(false);
            };
            state = before;
            linearized[undo / 64] &= !(1 << (undo % 64));
            events.unlift(undo);
            node = events.next[2 * undo];
        }
    }
    None
}

#[cfg(test)]
mod tests;
