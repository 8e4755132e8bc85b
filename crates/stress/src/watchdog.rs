//! A watchdog for anything that waits on threads or processes: if the guarded work
//! has not finished within its limit, it prints what it was waiting for and the
//! state of every database it watches, kills the child processes it was told of, and
//! ends the process with a failure. A hang then shows up as a failed test that says
//! where it stuck, never as a CI run that times out without a word.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The exit code of a process the watchdog ends.
pub const EXIT_CODE: i32 = 86;

type Report = Box<dyn Fn() -> String + Send>;

#[derive(Default)]
struct State {
    done: bool,
    phase: String,
    reports: Vec<(String, Report)>,
    children: Vec<u32>,
}

/// Guards one piece of work; dropping it (or [`Watchdog::finish`]) disarms it.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use quickcache_stress::watchdog::Watchdog;
///
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// let dog = Watchdog::start("compacting", Duration::from_secs(60));
/// dog.watch("db", db.reporter());
/// db.compact_range(..)?;
/// dog.finish();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Watchdog {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("phase", &lock(&self.shared.0).phase)
            .finish_non_exhaustive()
    }
}

impl Watchdog {
    /// Arms a watchdog for `what`, which must finish within `limit`.
    pub fn start(what: impl Into<String>, limit: Duration) -> Watchdog {
        let what = what.into();
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || guard(&shared, &what, limit)
            })
            .ok();
        Watchdog { shared, thread }
    }

    /// Adds a report printed on a hang, under `name`: a database's
    /// [`quickcache::BackgroundReporter`], or any closure saying what a thread waits for.
    pub fn watch(&self, name: impl Into<String>, report: impl Reporter) {
        let report: Report = Box::new(move || report.report());
        lock(&self.shared.0).reports.push((name.into(), report));
    }

    /// Drops every report added so far (a sweep's next case watches a new database).
    pub fn unwatch_all(&self) {
        lock(&self.shared.0).reports.clear();
    }

    /// Says what the guarded work is doing now; printed on a hang.
    pub fn phase(&self, phase: impl Into<String>) {
        lock(&self.shared.0).phase = phase.into();
    }

    /// A child process to kill (by pid) if the watchdog fires.
    pub fn child(&self, pid: u32) {
        lock(&self.shared.0).children.push(pid);
    }

    /// Forgets a child process that has ended.
    pub fn child_ended(&self, pid: u32) {
        lock(&self.shared.0).children.retain(|&p| p != pid);
    }

    /// Disarms the watchdog.
    pub fn finish(self) {}
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        lock(&self.shared.0).done = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _joined = thread.join();
        }
    }
}

/// Something that describes its state for a watchdog's report.
pub trait Reporter: Send + 'static {
    /// The state, as text.
    fn report(&self) -> String;
}

impl Reporter for quickcache::BackgroundReporter {
    fn report(&self) -> String {
        quickcache::BackgroundReporter::report(self)
    }
}

impl<F: Fn() -> String + Send + 'static> Reporter for F {
    fn report(&self) -> String {
        self()
    }
}

fn guard(shared: &(Mutex<State>, Condvar), what: &str, limit: Duration) {
    let started = Instant::now();
    let mut state = lock(&shared.0);
    while !state.done {
        let Some(left) = limit.checked_sub(started.elapsed()) else {
            fire(&state, what, limit);
        };
        state = shared
            .1
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Prints the report straight to the process's stderr (a test harness's output
/// capture would lose it when the process exits), kills the children, and exits.
fn fire(state: &State, what: &str, limit: Duration) -> ! {
    let mut text = format!(
        "\n=== WATCHDOG: `{what}` did not finish within {limit:?} ===\nphase: {}\n",
        state.phase
    );
    for (name, report) in &state.reports {
        text.push_str(&format!("--- {name} ---\n{}\n", report()));
    }
    for pid in &state.children {
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        text.push_str(&format!("killed child {pid}: {killed:?}\n"));
    }
    text.push_str("=== the process exits now ===\n");
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
    std::process::exit(EXIT_CODE);
}

#[cfg(test)]
mod tests {
    use super::Watchdog;
    use std::time::Duration;

    #[test]
    fn a_finished_watchdog_never_fires() {
        let dog = Watchdog::start("nothing", Duration::from_millis(20));
        dog.phase("done at once");
        dog.watch("note", || "fine".to_string());
        dog.finish();
        // Past the limit: had it fired, this test process would have exited.
        std::thread::sleep(Duration::from_millis(60));
    }
}
