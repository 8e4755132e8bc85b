//! The format of a spilled run: records one after another, read once from start to
//! end (or from a sampled key on), by this process only.
//!
//! ```text
//! record = key length u32 LE | value length u32 LE | key | value
//! ```
//!
//! Why not a table: a run lives for seconds and is read once, so blocks, restart
//! points, index and checksums would cost a copy, a hash and some bookkeeping per
//! entry for nothing (a crash loses the load, and the file never leaves the
//! process). A truncated or inconsistent file is still reported as an error, never
//! a panic.

use std::path::{Path, PathBuf};

use quickcache_fs::{DynFs, Op, ReadableFile, WritableFile};

use crate::error::{Error, Result};
use crate::open::fs_error;

/// Bytes gathered before a write, and read at a time.
const CHUNK: usize = 1 << 20;

/// One record in this many is remembered with its offset, so that a reader can
/// start near a key instead of at the start of the run.
const INDEX_EVERY: u64 = 1024;

/// A spilled run: its file and every [`INDEX_EVERY`]th key with its record's offset.
#[derive(Debug)]
pub(crate) struct RunFile {
    pub(crate) path: PathBuf,
    index: Vec<(Vec<u8>, u64)>,
}

/// Writes `entries` (ascending, distinct keys) to `path`, not synced.
pub(crate) fn write<'r>(
    fs: &DynFs,
    path: &Path,
    entries: impl Iterator<Item = (&'r [u8], &'r [u8])>,
) -> Result<RunFile> {
    let mut file = (fs.create(path)).map_err(fs_error("creating a bulk-load run", path))?;
    let (mut buf, mut index) = (Vec::with_capacity(CHUNK * 2), Vec::new());
    let (mut offset, mut count) = (0u64, 0u64);
    for (key, value) in entries {
        if count.is_multiple_of(INDEX_EVERY) {
            index.push((key.to_vec(), offset + buf.len() as u64));
        }
        count += 1;
        // Lengths fit: the loader refuses keys and values of 4 GiB or more.
        debug_assert!(u32::try_from(key.len()).is_ok() && u32::try_from(value.len()).is_ok());
        buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
        buf.extend_from_slice(key);
        buf.extend_from_slice(value);
        if buf.len() >= CHUNK {
            append(&mut *file, path, &mut buf, &mut offset)?;
        }
    }
    append(&mut *file, path, &mut buf, &mut offset)?;
    file.close()
        .map_err(fs_error("closing a bulk-load run", path))?;
    Ok(RunFile {
        path: path.to_path_buf(),
        index,
    })
}

fn append(file: &mut dyn WritableFile, path: &Path, buf: &mut Vec<u8>, at: &mut u64) -> Result<()> {
    file.append(buf)
        .map_err(fs_error("writing a bulk-load run", path))?;
    *at += buf.len() as u64;
    buf.clear();
    Ok(())
}

/// Reads a run's records in order; positioned on one record, or past the end.
pub(crate) struct RunReader {
    file: Box<dyn ReadableFile>,
    path: PathBuf,
    /// Bytes read from the file; `buf[0]` lies at file offset `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    /// The current record's start in `buf`, and its key and value lengths; `None`
    /// past the end.
    current: Option<(usize, usize, usize)>,
}

impl RunReader {
    /// A reader on the first record of `run` whose key is at least `start` (on its
    /// first record without `start`).
    pub(crate) fn open(fs: &DynFs, run: &RunFile, start: Option<&[u8]>) -> Result<RunReader> {
        let path = &run.path;
        let file = (fs.open(path)).map_err(fs_error("opening a bulk-load run", path))?;
        // The last sampled record before `start`: nothing between it and `start`.
        let from = start.map_or(0, |start| {
            let after = run.index.partition_point(|(k, _)| k.as_slice() < start);
            after.checked_sub(1).map_or(0, |i| run.index[i].1)
        });
        let mut reader = RunReader {
            file,
            path: path.clone(),
            buf: Vec::with_capacity(CHUNK),
            buf_at: from,
            current: None,
        };
        reader.load(0)?;
        while let Some(key) = reader.key() {
            if start.is_none_or(|start| key >= start) {
                break;
            }
            reader.next()?;
        }
        Ok(reader)
    }

    /// The current record's key; `None` past the end.
    pub(crate) fn key(&self) -> Option<&[u8]> {
        let (at, k, _) = self.current?;
        self.buf.get(at + 8..at + 8 + k)
    }

    /// The current record's value; `None` past the end.
    pub(crate) fn value(&self) -> Option<&[u8]> {
        let (at, k, v) = self.current?;
        self.buf.get(at + 8 + k..at + 8 + k + v)
    }

    /// Moves to the next record.
    pub(crate) fn next(&mut self) -> Result<()> {
        match self.current {
            Some((at, k, v)) => self.load(at + 8 + k + v),
            None => Ok(()),
        }
    }

    /// Makes the record at `buf[at..]` current, reading more of the file as needed.
    fn load(&mut self, at: usize) -> Result<()> {
        self.current = None;
        let Some(at) = self.fill(at, 8)? else {
            return Ok(());
        };
        let len = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let (k, v) = (len(&self.buf[at..at + 4]), len(&self.buf[at + 4..at + 8]));
        let Some(at) = self.fill(at, 8 + k + v)? else {
            return Err(self.truncated());
        };
        self.current = Some((at, k, v));
        Ok(())
    }

    /// Makes `buf[at..]` hold at least `need` bytes, moving them to the front of the
    /// buffer first if they are not all there yet; where they start then. `None` if
    /// the file ends before the first of them (the run's end); an error if it ends
    /// among them.
    fn fill(&mut self, at: usize, need: usize) -> Result<Option<usize>> {
        if self.buf.len() >= at + need {
            return Ok(Some(at));
        }
        let at = at.min(self.buf.len());
        self.buf.drain(..at);
        self.buf_at += at as u64;
        while self.buf.len() < need {
            let have = self.buf.len();
            self.buf.resize(need.max(have + CHUNK), 0);
            let read = self
                .file
                .read_at(self.buf_at + have as u64, &mut self.buf[have..]);
            let n = read.map_err(fs_error("reading a bulk-load run", &self.path))?;
            self.buf.truncate(have + n);
            if n == 0 {
                return match have {
                    0 => Ok(None),
                    _ => Err(self.truncated()),
                };
            }
        }
        Ok(Some(0))
    }

    fn truncated(&self) -> Error {
        let source = std::io::Error::other("the run ends inside a record");
        Error::Fs {
            operation: "reading a bulk-load run",
            path: self.path.clone(),
            source: quickcache_fs::Error::Io {
                op: Op::Read,
                path: self.path.clone(),
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use quickcache_fs::{FileSystem, SimFs};

    use super::*;

    fn fs() -> DynFs {
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/s")).unwrap();
        Arc::new(fs)
    }

    fn key(n: u64) -> Vec<u8> {
        format!("k{n:08}").into_bytes()
    }

    /// Record `i`'s value length: short ones, and a few longer than a chunk.
    fn value_len(i: u64) -> usize {
        if i % 1000 == 999 {
            CHUNK + 100
        } else {
            i as usize % 300
        }
    }

    fn run(fs: &DynFs, n: u64) -> RunFile {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
            .map(|i| (key(i), vec![i as u8; value_len(i)]))
            .collect();
        let refs = entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()));
        write(fs, Path::new("/s/run"), refs).unwrap()
    }

    fn read_all(reader: &mut RunReader) -> Vec<u64> {
        let mut seen = Vec::new();
        while let (Some(k), Some(v)) = (reader.key(), reader.value()) {
            let i: u64 = std::str::from_utf8(&k[1..]).unwrap().parse().unwrap();
            assert_eq!(v.len(), value_len(i));
            seen.push(i);
            reader.next().unwrap();
        }
        seen
    }

    #[test]
    fn records_read_back_in_order_from_the_start_or_from_a_key() {
        let fs = fs();
        let file = run(&fs, 5000);
        let mut all = RunReader::open(&fs, &file, None).unwrap();
        assert_eq!(read_all(&mut all), (0..5000).collect::<Vec<_>>());
        for start in [0, 1, 1023, 1024, 1025, 4999] {
            let mut from = RunReader::open(&fs, &file, Some(&key(start))).unwrap();
            assert_eq!(read_all(&mut from), (start..5000).collect::<Vec<_>>());
        }
        let past = RunReader::open(&fs, &file, Some(b"z")).unwrap();
        assert!(past.key().is_none());
    }

    #[test]
    fn a_run_cut_inside_a_record_is_an_error_not_a_short_run() {
        let fs = fs();
        let file = run(&fs, 10);
        let size = fs.size(&file.path).unwrap();
        fs.truncate(&file.path, size - 1).unwrap();
        let mut reader = RunReader::open(&fs, &file, None).unwrap();
        let mut failed = false;
        for _ in 0..10 {
            if reader.next().is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
