//! Linearizability checking for quickcache-server: a history format, a checker for
//! the key-value model, and the chaos driver that records histories of a real
//! cluster under kills and restarts.
//!
//! ```
//! use quickcache_lincheck::history::{Op, Operation, Output};
//! use quickcache_lincheck::checker::{check, Verdict};
//!
//! let op = |op, output, call, ret| Operation { process: 1, key: "k".into(), op, output, call, ret: Some(ret) };
//! let history = [
//!     op(Op::Put("a".into()), Output::Ok, 0, 1),
//!     op(Op::Get, Output::Read(Some("a".into())), 2, 3),
//! ];
//! assert!(matches!(check(&history), Verdict::Linearizable { .. }));
//! ```

#![forbid(unsafe_code)]

pub mod chaos;
pub mod checker;
pub mod cluster;
pub mod history;
