//! `CliError`: every way a command fails, each shown as one line.

use std::fmt;
use std::path::PathBuf;

use crate::bench::EngineError;

/// A command's failure. `main` prints it as `error: {self}` and exits with
/// [`CliError::exit_code`].
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
    /// `get` found no such key (exit code 2, not an error).
    NotFound(String),
}

impl CliError {
    /// The process exit code: 2 for a key not found, 1 for every error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NotFound(_) => 2,
            _ => 1,
        }
    }

    /// Whether the error is a closed output pipe (`quickcache scan | head`): the
    /// command then stops quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
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
