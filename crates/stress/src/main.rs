//! `stress`: long runs of the reliability suites (the README's "Reliability suites").
//!
//! ```text
//! stress power [--seeds N] [--from S] [--points P] [--ops O]
//! stress kill [--cycles N] [--seed S] [--dir D]
//! stress concurrency [--secs N]
//! stress all-features [--secs N]
//! stress kill-child            (internal: the process `stress kill` kills)
//! ```
//! Exits 1 on the first violation, printing it with the seed that replays it.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use quickcache::Db;
use quickcache_stress::all_features;
use quickcache_stress::concurrency::{self, ConcurrencyConfig};
use quickcache_stress::kill::{self, KillRun};
use quickcache_stress::power::{PowerConfig, power_seed};

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn power(args: &[String]) -> Result<String, String> {
    let seeds = arg(args, "--seeds", 100_000);
    let from = arg(args, "--from", 1);
    let cfg = PowerConfig {
        max_points: arg(args, "--points", 12) as usize,
        ops: arg(args, "--ops", 40) as usize,
        ..PowerConfig::default()
    };
    let start = Instant::now();
    let (mut states, mut fs_ops) = (0, 0);
    for seed in from..from + seeds {
        let stats = std::panic::catch_unwind(|| power_seed(seed, &cfg))
            .map_err(|_| format!("seed {seed}: panic"))??;
        states += stats.crash_states;
        fs_ops += stats.fs_ops;
        if (seed - from + 1).is_multiple_of(1000) {
            eprintln!(
                "{} seeds, {states} crash states, {:?}",
                seed - from + 1,
                start.elapsed()
            );
        }
    }
    Ok(format!(
        "power: {seeds} seeds, {fs_ops} fs operations, {states} crash states checked"
    ))
}

fn kill(args: &[String]) -> Result<String, String> {
    let cycles = arg(args, "--cycles", 10_000);
    let seed = arg(args, "--seed", 1);
    let scratch = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("quickcache-kill-{}", std::process::id()))
        });
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut run = KillRun::new(scratch.join("db"), scratch.join("oracle"), seed);
    let mut spawn = |run: &KillRun, cycle: u64| {
        Command::new(&exe)
            .arg("kill-child")
            .envs(run.child_env(cycle))
            .stdout(Stdio::piped())
            .spawn()
    };
    for cycle in 0..cycles {
        run.cycle(cycle, &mut spawn)?;
        if (cycle + 1).is_multiple_of(100) {
            eprintln!(
                "{} cycles, {} during open, {} during repair",
                cycle + 1,
                run.kills_during_open,
                run.kills_during_repair
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(format!(
        "kill: {cycles} cycles, {} during open, {} during repair, {} acknowledged operations \
         checked",
        run.kills_during_open, run.kills_during_repair, run.acknowledged
    ))
}

fn concurrency(args: &[String]) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("quickcache-conc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open_with(&dir, concurrency::options()).map_err(|e| e.to_string())?;
    let cfg = ConcurrencyConfig {
        duration: Duration::from_secs(arg(args, "--secs", 30)),
        writers: 4,
        readers: 2,
        keys_per_writer: 200,
    };
    let stats = concurrency::run(db, cfg);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!("concurrency: {:?}", stats?))
}

fn all_features(args: &[String]) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("quickcache-all-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = all_features::AllFeaturesConfig {
        duration: Duration::from_secs(arg(args, "--secs", 600)),
        dir: dir.join("db"),
    };
    let stats = all_features::run(&cfg);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!("all-features: {:?}", stats?))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("power") => power(&args),
        Some("kill") => kill(&args),
        Some("concurrency") => concurrency(&args),
        Some("all-features") => all_features(&args),
        Some("kill-child") => Err(kill::child_from_env()
            .unwrap_or_else(|| "kill-child: no task in the environment".into())),
        _ => Err(
            "usage: stress power|kill|concurrency|all-features [options] (see the README's Reliability suites)"
                .into(),
        ),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(violation) => {
            eprintln!("stress: {violation}");
            ExitCode::FAILURE
        }
    }
}
