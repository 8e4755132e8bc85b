//! The `quickcache` command. Parses the arguments and runs the command; any failure is
//! one line on stderr and an exit code saying which kind of failure it was (see
//! [`quickcache_cli::Exit`], listed in `--help`).

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use quickcache_cli::Exit;
use quickcache_cli::args::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come this way too, on stdout and successful.
            let code = if e.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
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
