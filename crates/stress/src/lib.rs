//! quickcache's reliability suites as a library: the facade's tests (`crates/quickcache/
//! tests/crash_*.rs`, `concurrency_stress.rs`, `fuzz_corpus_engine.rs`) run them at CI
//! size, the `stress` binary and `scripts/` run them for hours, and the `engine` fuzz
//! target calls [`fuzzing::engine`], so all three run the same code.
//!
//! Every check returns a [`Violation`] (a description naming the seed) rather than
//! panicking, so the long-running binary can report and go on.

#![forbid(unsafe_code)]

pub mod all_features;
pub mod check;
pub mod concurrency;
#[doc(hidden)]
pub mod fuzzing;
pub mod kill;
pub mod power;
pub mod rng;
pub mod watchdog;
pub mod workload;

pub use check::Violation;
