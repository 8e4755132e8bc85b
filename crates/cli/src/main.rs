//! The `quickcache` command. Parses the arguments and runs the command; any failure is
//! one line on stderr and exit code 1 (2: `get` found no such key).

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use quickcache_cli::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = quickcache_cli::cmd::run(&cli, &mut out);
    let flushed = out.flush();
    match result {
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(e.exit_code())
        }
        Ok(()) if flushed.is_err() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::SUCCESS,
    }
}
