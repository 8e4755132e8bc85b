//! `rotate` returns a segment only once its file exists. The regression: a leader
//! takes a pending switch out of the writer's state before its I/O, and a second
//! `rotate` caller that found nothing left to write took "no switch pending" for
//! "switch done" and returned the new segment while its file was still being
//! created. quickcache records the returned segment in its manifest, so a kill -9 in
//! that window left a manifest naming a segment that never existed
//! (`MissingWalSegment` on the next open; found by `scripts/kill-loop.sh`, seed 1,
//! cycle 664).

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use common::{DIR, options};
use quickcache_fs::{
    DynFs, FileLock, FileSystem, Mapping, ReadableFile, Result, SimFs, WritableFile,
};
use quickcache_wal::{Durability, SegmentId, Wal};

/// Holds `create` of one file name until opened; says when a create is waiting.
#[derive(Debug)]
struct GatedFs {
    inner: DynFs,
    name: &'static str,
    /// (entered, open)
    gate: Arc<(Mutex<(bool, bool)>, Condvar)>,
}

impl GatedFs {
    fn pass(&self, path: &Path) {
        if path.file_name().is_some_and(|n| n == self.name) {
            let (lock, cv) = &*self.gate;
            let mut g = lock.lock().unwrap_or_else(PoisonError::into_inner);
            g.0 = true;
            cv.notify_all();
            let (g, _) = cv
                .wait_timeout_while(g, Duration::from_secs(20), |g| !g.1)
                .unwrap_or_else(PoisonError::into_inner);
            assert!(g.1, "the gate was not opened within 20 s");
        }
    }
}

impl FileSystem for GatedFs {
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.pass(path);
        self.inner.create(path)
    }
    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.inner.open_append(path)
    }
    fn open(&self, path: &Path) -> Result<Box<dyn ReadableFile>> {
        self.inner.open(path)
    }
    fn map(&self, path: &Path) -> Result<Mapping> {
        self.inner.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        self.inner.exists(path)
    }
    fn size(&self, path: &Path) -> Result<u64> {
        self.inner.size(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        self.inner.truncate(path, len)
    }
}

#[test]
fn a_rotate_racing_a_leaders_switch_waits_for_the_new_file() {
    let sim: DynFs = Arc::new(SimFs::new(7));
    let gate = Arc::new((Mutex::new((false, false)), Condvar::new()));
    let fs: DynFs = Arc::new(GatedFs {
        inner: sim.clone(),
        name: "000002.log",
        gate: Arc::clone(&gate),
    });
    let (wal, _) = Wal::open(fs, DIR, options(1 << 20)).unwrap();
    let wal = Arc::new(wal);
    wal.append(b"in segment 1", Durability::Os).unwrap();

    // The first rotate leads the switch itself and is held inside creating segment 2.
    let first = {
        let wal = Arc::clone(&wal);
        thread::spawn(move || wal.rotate())
    };
    {
        let (lock, cv) = &*gate;
        let g = lock.lock().unwrap();
        let (g, timeout) = cv
            .wait_timeout_while(g, Duration::from_secs(20), |g| !g.0)
            .unwrap();
        assert!(
            !timeout.timed_out() && g.0,
            "the first rotate never began creating segment 2"
        );
    }

    // The second finds segment 2 without records and nothing left to write.
    let (tx, rx) = mpsc::channel();
    let second = {
        let (wal, sim) = (Arc::clone(&wal), sim.clone());
        thread::spawn(move || {
            let segment = wal.rotate();
            let exists = sim.exists(&SegmentId(2).path_in(Path::new(DIR)));
            tx.send((segment.ok().map(|s| s.0), exists.unwrap()))
                .unwrap();
        })
    };
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "rotate returned while segment 2 was still being created"
    );
    {
        let (lock, cv) = &*gate;
        lock.lock().unwrap().1 = true;
        cv.notify_all();
    }
    let (segment, exists) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the second rotate did not return after the switch finished");
    assert_eq!(segment, Some(2));
    assert!(exists, "rotate returned segment 2 before its file existed");
    assert_eq!(first.join().unwrap().unwrap(), SegmentId(2));
    second.join().unwrap();
}
