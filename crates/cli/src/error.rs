//! `CliError`: every way a command fails, each shown as one line.

use std::fmt;
use std::path::PathBuf;

use crate::bench::EngineError;
use crate::exit::Exit;

/// A command's failure. `main` prints it as `error: {self}` and exits with
/// [`CliError::exit_code`], which tells the kinds of failure apart.
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// The directory holds no database (missing, not a directory, or no `CURRENT`).
    NoDatabase {
        /// The directory.
        path: PathBuf,
        /// Why it is not one.
        why: &'static str,
    },
    /// The database reported an error (locked, damaged, I/O).
    Db {
        /// The database directory.
        path: PathBuf,
        /// The error.
        source: quickcache::Error,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is damaged (dumps and verify; details were printed before).
    Damaged {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong, in short.
        what: String,
    },
    /// A benchmark failed.
    Bench(EngineError),
    /// An argument could not be used.
    Usage(String),
    /// `get` found no such key (not an error, but its own exit code).
    NotFound(String),
}

impl CliError {
    /// Which kind of failure this is; see [`Exit`] for the codes.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::NoDatabase { .. } => Exit::NoDatabase,
            CliError::Db { source, .. } => classify(source),
            CliError::Io { .. } => Exit::Io,
            CliError::Damaged { .. } => Exit::Corruption,
            CliError::Bench(e) => match e.downcast_ref::<quickcache::Error>() {
                Some(source) => classify(source),
                None if e.is::<std::io::Error>() => Exit::Io,
                None => Exit::Failure,
            },
            CliError::Usage(_) => Exit::Usage,
            CliError::NotFound(_) => Exit::NotFound,
        }
    }

    /// The process exit code: [`CliError::exit`] as a number.
    pub fn exit_code(&self) -> u8 {
        self.exit().code()
    }

    /// Whether the error is a closed output pipe (`quickcache scan | head`): the
    /// command then stops quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The exit code of a database error, by what the facade says it is.
fn classify(e: &quickcache::Error) -> Exit {
    if e.is_locked() {
        Exit::Locked
    } else if e.is_not_a_database() {
        Exit::NoDatabase
    } else if e.is_corruption() {
        Exit::Corruption
    } else if e.is_io() {
        Exit::Io
    } else {
        Exit::Failure
    }
}

/// Keeps an error's message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::NoDatabase { path, why } => {
                write!(f, "{}: no quickcache database here ({why})", path.display())
            }
            CliError::Db { source, .. } => f.write_str(&one_line(&source.to_string())),
            CliError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CliError::Damaged { path, what } => write!(f, "{} is damaged: {what}", path.display()),
            CliError::Bench(e) => write!(f, "benchmark failed: {}", one_line(&e.to_string())),
            CliError::Usage(text) => f.write_str(text),
            CliError::NotFound(key) => write!(f, "not found: {key}"),
        }
    }
}

impl std::error::Error for CliError {}

/// Wraps an output error (writing to stdout).
pub(crate) fn output(source: std::io::Error) -> CliError {
    CliError::Io {
        path: PathBuf::from("<stdout>"),
        source,
    }
}
