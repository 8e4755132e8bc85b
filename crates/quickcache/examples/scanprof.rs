//! Profiling harness for the scan paths (issue 20): runs one scan workload over an
//! existing database, for `valgrind --tool=callgrind` A/B of iterator changes.
//!
//! `cargo run --release --example scanprof -- DIR MODE [NUM]` where MODE is one of
//! `seq`, `seq_ref`, `rev`, `rev_ref`, `seek10`, `seek100`.

use std::hint::black_box;

fn key(n: u64) -> Vec<u8> {
    format!("{n:016}").into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(mode)) = (args.get(1), args.get(2)) else {
        return Err("usage: scanprof DIR MODE [NUM]".into());
    };
    let num: u64 = args.get(3).map_or(Ok(200_000), |n| n.parse())?;
    let db = quickcache::Db::open(dir)?;
    let mut bytes = 0usize;
    let mut seen = 0u64;
    match mode.as_str() {
        "seq" => {
            for entry in db.iter() {
                let (k, v) = entry?;
                bytes += k.len() + v.len();
                seen += 1;
            }
        }
        "rev" => {
            for entry in db.iter().rev() {
                let (k, v) = entry?;
                bytes += k.len() + v.len();
                seen += 1;
            }
        }
        "seq_ref" | "rev_ref" => {
            let mut iter = db.iter();
            loop {
                let entry = if mode == "seq_ref" {
                    iter.next_ref()
                } else {
                    iter.next_back_ref()
                };
                let Some(entry) = entry else { break };
                let (k, v) = entry?;
                bytes += k.len() + v.len();
                seen += 1;
            }
        }
        "seek10" | "seek100" => {
            let take = if mode == "seek10" { 11 } else { 101 };
            let mut x = 88_172_645_463_325_252u64;
            for _ in 0..num / 20 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                for entry in db.range(key(x % num)..).take(take) {
                    let (k, v) = entry?;
                    bytes += k.len() + v.len();
                    seen += 1;
                }
            }
        }
        _ => return Err(format!("unknown mode {mode}").into()),
    }
    black_box(bytes);
    println!("{mode}: {seen} entries, {bytes} bytes");
    Ok(())
}
