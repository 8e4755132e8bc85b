//! `raft-chaos`: records a history of a 3-node quickcache-server cluster under
//! repeated kills and restarts, writes it as JSON lines, and checks it for
//! linearizability. `raft-chaos --check FILE` checks a recorded history.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quickcache_lincheck::chaos::{self, Config};
use quickcache_lincheck::checker::{Verdict, check};
use quickcache_lincheck::history;

#[derive(Debug, Parser)]
#[command(name = "raft-chaos")]
struct Args {
    /// The quickcache-server binary.
    #[arg(long, default_value = "target/release/quickcache-server")]
    server: PathBuf,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// Distinct keys.
    #[arg(long, default_value_t = 16)]
    keys: u64,
    /// Seed of the clients' and the nemesis' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the history (JSON lines).
    #[arg(long, default_value = "raft-chaos-history.jsonl")]
    history: PathBuf,
    /// Only check this recorded history.
    #[arg(long)]
    check: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("raft-chaos: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let history = match &args.check {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            history::read(std::io::BufReader::new(file))?
        }
        None => record(args)?,
    };
    report(check(&history))
}

fn record(args: &Args) -> Result<Vec<history::Operation>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let config = Config {
        server: args.server.clone(),
        dir: dir.path().to_owned(),
        duration: Duration::from_secs(args.seconds),
        clients: args.clients,
        keys: args.keys,
        seed: args.seed,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    let run = runtime
        .block_on(chaos::run(&config))
        .map_err(|e| format!("{e}\n{}", chaos::node_logs(dir.path())))?;
    let file = std::fs::File::create(&args.history)
        .map_err(|e| format!("{}: {e}", args.history.display()))?;
    history::write(&run.history, std::io::BufWriter::new(file))
        .map_err(|e| format!("writing history: {e}"))?;
    let unknown = run.history.iter().filter(|o| o.ret.is_none()).count();
    eprintln!(
        "raft-chaos: {} operations ({unknown} of unknown outcome), {} kills; history in {}",
        run.history.len(),
        run.kills,
        args.history.display()
    );
    Ok(run.history)
}

fn report(verdict: Verdict) -> Result<(), String> {
    match verdict {
        Verdict::Linearizable { keys, operations } => {
            eprintln!("raft-chaos: linearizable ({operations} operations on {keys} keys)");
            Ok(())
        }
        Verdict::Violation { key, operations } => {
            let lines: Vec<String> = operations.iter().map(|o| format!("  {o:?}")).collect();
            Err(format!(
                "NOT linearizable: key {key}, its operations:\n{}",
                lines.join("\n")
            ))
        }
        Verdict::Undecided { key } => Err(format!(
            "undecided: the search of key {key} exceeded its budget"
        )),
    }
}
