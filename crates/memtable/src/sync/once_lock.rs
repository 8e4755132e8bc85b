//! A `OnceLock` whose synchronization loom can see, for the model-checked build.
//!
//! loom has no `OnceLock`, and std's is invisible to it: loom would neither order
//! the initializer's writes before a reader's use nor switch threads inside it (and
//! a second thread blocking in std's `get_or_init` would hang the whole model, which
//! runs every thread on one OS thread). This one keeps the value in std's cell but
//! decides, through loom's primitives, who initializes it and who may read it: a
//! loom mutex serializes initializers, and a loom `AtomicBool` stored `Release`
//! after the value and loaded `Acquire` before any read gives readers the same
//! happens-before edge std's `OnceLock::get` gives them.

use std::sync::atomic::Ordering::{Acquire, Release};

use loom::sync::Mutex;
use loom::sync::atomic::AtomicBool;

/// A cell written once; see the module doc.
#[derive(Debug)]
pub(crate) struct OnceLock<T> {
    /// Set, `Release`, once `value` holds the value; read `Acquire` before `value`.
    ready: AtomicBool,
    /// Held by the thread initializing the value.
    init: Mutex<()>,
    /// The value. Touched only under `init` or after `ready` read true, so std's
    /// own synchronization never decides anything.
    value: std::sync::OnceLock<T>,
}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> OnceLock<T> {
    /// An empty cell.
    pub(crate) fn new() -> Self {
        OnceLock {
            ready: AtomicBool::new(false),
            init: Mutex::new(()),
            value: std::sync::OnceLock::new(),
        }
    }

    /// The value, if set.
    pub(crate) fn get(&self) -> Option<&T> {
        if self.ready.load(Acquire) {
            self.value.get()
        } else {
            None
        }
    }

    /// The value, set by `f` first if the cell is empty; `f` runs at most once.
    pub(crate) fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        // Under the loom mutex: std's cell never sees two initializers at once.
        let _init = self.init.lock();
        let value = self.value.get_or_init(f);
        self.ready.store(true, Release);
        value
    }

    /// Sets the value, or returns it if the cell is already set.
    pub(crate) fn set(&self, value: T) -> Result<(), T> {
        let _init = self.init.lock();
        let result = self.value.set(value);
        self.ready.store(true, Release);
        result
    }
}
