//! `stress`: long runs of the reliability suites (see the README's "Reliability
//! suites").
fn main() {}
