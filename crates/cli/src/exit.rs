//! `Exit`: the process exit codes, one per kind of failure, so that scripts can tell
//! "no such key" from "bad arguments" from "the database is damaged".

use std::fmt::Write as _;

/// Why the command failed, as its exit code. Success is 0.
///
/// The values are part of the command's interface: they never change meaning, and
/// a new kind of failure gets a new value.
///
/// # Examples
/// ```
/// use quickcache_cli::Exit;
/// assert_eq!(Exit::NotFound.code(), 3);
/// assert!(quickcache_cli::exit::help().contains("3  not found"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum Exit {
    /// Any failure not listed below (a benchmark failed, a newer format).
    Failure = 1,
    /// Bad arguments: clap's own errors, and keys, values or options that do not
    /// parse or that the command refuses (2, as clap and most tools use).
    Usage = 2,
    /// `get` found no such key.
    NotFound = 3,
    /// Stored data is damaged (`verify`, the dumps, or a read that met damage).
    Corruption = 4,
    /// Another process has the database open.
    Locked = 5,
    /// A file could not be read or written.
    Io = 6,
    /// `--db` names no quickcache database (missing, empty, or something else).
    NoDatabase = 7,
}

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 7] = [
        Exit::Failure,
        Exit::Usage,
        Exit::NotFound,
        Exit::Corruption,
        Exit::Locked,
        Exit::Io,
        Exit::NoDatabase,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code means, as `--help` lists it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Failure => "any other failure",
            Exit::Usage => "usage error: bad arguments, or a key or value that does not parse",
            Exit::NotFound => "not found: `get` found no such key",
            Exit::Corruption => "corruption: stored data is damaged",
            Exit::Locked => "locked: another process has the database open",
            Exit::Io => "I/O error: a file could not be read or written",
            Exit::NoDatabase => "no database: --db names no quickcache database",
        }
    }
}

/// The exit code section of `--help`.
pub fn help() -> String {
    let mut out = String::from("Exit codes:\n  0  success\n");
    for exit in Exit::ALL {
        let _ = writeln!(out, "  {}  {}", exit.code(), exit.meaning());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed_in_order() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, (1..=7).collect::<Vec<u8>>());
        let help = help();
        for exit in Exit::ALL {
            assert!(help.contains(&format!("{}  {}", exit.code(), exit.meaning())));
        }
    }
}
