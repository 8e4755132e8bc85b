//! A history: the operations clients performed, with when they were called and when
//! they returned (if they did), one JSON object a line.
//!
//! ```text
//! {"process":3,"key":"k7","op":{"Put":"p3-41"},"output":"Ok","call":1200,"ret":1850}
//! {"process":4,"key":"k7","op":"Get","output":{"Read":"p3-41"},"call":1300,"ret":1900}
//! {"process":5,"key":"k2","op":"Delete","output":"Unknown","call":2000,"ret":null}
//! ```
//!
//! An operation whose outcome is unknown (timeout, connection reset, server killed)
//! has `output: "Unknown"` and no `ret`: it may have taken effect at any time after
//! its call, or never. Operations that certainly failed are not recorded.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

/// What an operation asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set the key to this value.
    Put(String),
    /// Remove the key.
    Delete,
    /// Read the key.
    Get,
}

/// What an operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// A write was acknowledged.
    Ok,
    /// A read returned this value (`None`: absent).
    Read(Option<String>),
    /// No answer: the operation may or may not have taken effect.
    Unknown,
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The client that performed it; a client performs one operation at a time.
    pub process: u64,
    /// The key it touched.
    pub key: String,
    /// What it asked for.
    pub op: Op,
    /// What it returned.
    pub output: Output,
    /// When it was called (nanoseconds since the history began).
    pub call: u64,
    /// When it returned; `None` if it never did (its output is then `Unknown`).
    pub ret: Option<u64>,
}

/// Writes `history` as JSON lines.
pub fn write(history: &[Operation], mut out: impl Write) -> std::io::Result<()> {
    for operation in history {
        serde_json::to_writer(&mut out, operation)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Reads a history written by [`write()`]; errors name the line.
pub fn read(input: impl BufRead) -> Result<Vec<Operation>, String> {
    let mut history = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let operation =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", number + 1))?;
        history.push(operation);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_lines() {
        let history = vec![
            Operation {
                process: 1,
                key: "k".into(),
                op: Op::Put("v".into()),
                output: Output::Ok,
                call: 1,
                ret: Some(2),
            },
            Operation {
                process: 2,
                key: "k".into(),
                op: Op::Delete,
                output: Output::Unknown,
                call: 3,
                ret: None,
            },
            Operation {
                process: 3,
                key: "k".into(),
                op: Op::Get,
                output: Output::Read(None),
                call: 4,
                ret: Some(5),
            },
        ];
        let mut bytes = Vec::new();
        write(&history, &mut bytes).unwrap();
        assert_eq!(read(&bytes[..]).unwrap(), history);
        let error = read(&b"{}\n"[..]).unwrap_err();
        assert!(error.starts_with("line 1:"), "{error}");
    }
}
