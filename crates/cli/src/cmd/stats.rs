//! `stats`: the tree's shape as a table and as a picture, one bar per level.

use std::fmt::Write as _;
use std::io::Write;

use quickcache::{LevelStats, Stats, TableStats};

use super::open::{db_error, open_for_reading};
use crate::CliError;
use crate::args::StatsArgs;
use crate::error::output;
use crate::escape::escape;
use crate::json::{Object, array, string_or_null};

/// Width of the largest level's bar, in characters.
const BAR_WIDTH: u64 = 60;
/// Key ranges are cut to this many characters.
const KEY_WIDTH: usize = 24;
/// Files of a level alternate between these, so that each one is seen.
const SEGMENTS: [char; 2] = ['█', '▒'];

/// `1234567` → `1.2 MB`.
///
/// # Examples
/// ```
/// assert_eq!(quickcache_cli::cmd::human_bytes(1_234_567), "1.2 MB");
/// assert_eq!(quickcache_cli::cmd::human_bytes(999), "999 B");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn short_key(key: &[u8]) -> String {
    let text = escape(key);
    match text.char_indices().nth(KEY_WIDTH) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn level_range(level: &LevelStats) -> String {
    let smallest = level.tables.iter().map(|t| &t.smallest).min();
    let largest = level.tables.iter().map(|t| &t.largest).max();
    match (smallest, largest) {
        (Some(s), Some(l)) => format!("{} .. {}", short_key(s), short_key(l)),
        _ => "-".to_string(),
    }
}

/// The level table and the per-file table.
pub fn shape_table(stats: &Stats) -> String {
    levels_table(&stats.levels)
}

/// [`shape_table`] of one tree's levels.
fn levels_table(levels: &[LevelStats]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<5} {:>5} {:>10} {:>11}  key range",
        "level", "files", "bytes", "entries"
    );
    for level in levels {
        let entries: u64 = level.tables.iter().map(|t| t.entries).sum();
        let _ = writeln!(
            out,
            "L{:<4} {:>5} {:>10} {:>11}  {}",
            level.level,
            level.files,
            human_bytes(level.bytes),
            entries,
            level_range(level)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<5} {:>8} {:>10} {:>11}  key range",
        "level", "table", "bytes", "entries"
    );
    for level in levels {
        for t in &level.tables {
            let range = format!("{} .. {}", short_key(&t.smallest), short_key(&t.largest));
            let _ = writeln!(
                out,
                "L{:<4} {:>8} {:>10} {:>11}  {range}",
                level.level,
                t.id,
                human_bytes(t.size),
                t.entries
            );
        }
    }
    out
}

/// One bar: `width` characters, the files as alternating segments proportional to
/// their sizes (a file too small for a character shares its neighbour's).
fn bar(level: &LevelStats, width: u64) -> String {
    let mut out = String::new();
    let (mut cumulative, mut drawn) = (0u64, 0u64);
    for (i, table) in level.tables.iter().enumerate() {
        cumulative += table.size;
        let end = (cumulative * width).checked_div(level.bytes).unwrap_or(0);
        for _ in drawn..end {
            out.push(SEGMENTS[i % 2]);
        }
        drawn = drawn.max(end);
    }
    out
}

/// L0's limits, shown beside its bar: its table count is what they measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L0Limits {
    /// Tables that make an L0 compaction due.
    pub trigger: usize,
    /// Tables past which writes slow down.
    pub slowdown: usize,
    /// Tables at which writes stop.
    pub stop: usize,
}

impl L0Limits {
    /// The limits the database was opened with.
    pub fn of(options: &quickcache::Options) -> L0Limits {
        L0Limits {
            trigger: options.l0_compaction_trigger,
            slowdown: options.l0_slowdown,
            stop: options.l0_stop,
        }
    }
}

/// The picture: a bar per level, to one scale (the largest level or target is
/// `BAR_WIDTH` wide), each level's target marked `┆`.
pub fn picture(stats: &Stats, l0: L0Limits) -> String {
    levels_picture(&stats.levels, l0)
}

/// The bytes one bar character stands for, so the largest level or target fills
/// `BAR_WIDTH`.
pub(crate) fn scale(levels: &[LevelStats]) -> u64 {
    let sizes = levels.iter().map(|l| l.bytes.max(l.target_bytes));
    sizes.max().unwrap_or(0).max(1)
}

/// What follows a level's bar: its size against its target, or L0's count against
/// its limits.
pub(crate) fn level_note(level: &LevelStats, l0: L0Limits) -> String {
    let size = human_bytes(level.bytes);
    if level.level == 0 {
        return format!(
            "{size} in {} files (compaction at {}, slowdown at {}, stop at {})",
            level.files, l0.trigger, l0.slowdown, l0.stop
        );
    }
    match level.target_bytes {
        0 => format!("{size} in {} files", level.files),
        target => format!(
            "{size} of {} target in {} files",
            human_bytes(target),
            level.files
        ),
    }
}

/// [`picture`] of one tree's levels.
fn levels_picture(levels: &[LevelStats], l0: L0Limits) -> String {
    let scale = scale(levels);
    let mut out = String::new();
    for level in levels {
        let width = (level.bytes * BAR_WIDTH).div_ceil(scale);
        let mut chars: Vec<char> = format!("{:<w$}", bar(level, width), w = BAR_WIDTH as usize)
            .chars()
            .collect();
        if level.target_bytes > 0 {
            let at = (level.target_bytes * BAR_WIDTH / scale).min(BAR_WIDTH - 1) as usize;
            if let Some(c) = chars.get_mut(at) {
                *c = if *c == ' ' { '┆' } else { '│' };
            }
        }
        let drawn: String = chars.into_iter().collect();
        let note = level_note(level, l0);
        let _ = writeln!(out, "L{} |{drawn}| {note}", level.level);
    }
    out
}

fn summary(stats: &Stats) -> String {
    format!(
        "memtable {} ({} frozen), WAL {}, block cache {}; write amplification {:.2}, read amplification {}, space amplification {:.2}",
        human_bytes(stats.memtable_bytes),
        stats.frozen_memtables,
        human_bytes(stats.wal_bytes),
        human_bytes(stats.block_cache_bytes),
        stats.write_amplification,
        stats.read_amplification,
        stats.space_amplification
    )
}

fn table_json(t: &TableStats) -> String {
    Object::new()
        .num("id", t.id)
        .num("size", t.size)
        .num("entries", t.entries)
        .str("smallest", &escape(&t.smallest))
        .str("largest", &escape(&t.largest))
        .finish()
}

fn level_json(level: &LevelStats) -> String {
    Object::new()
        .num("level", level.level)
        .num("files", level.files)
        .num("bytes", level.bytes)
        .num("target_bytes", level.target_bytes)
        .num(
            "entries",
            level.tables.iter().map(|t| t.entries).sum::<u64>(),
        )
        .raw("tables", &array(level.tables.iter().map(table_json)))
        .finish()
}

/// The figures as one JSON object on one line (keys as escaped text, times in
/// nanoseconds).
pub fn stats_json(stats: &Stats) -> String {
    let c = &stats.compaction;
    Object::new()
        .raw("levels", &array(stats.levels.iter().map(level_json)))
        .num("memtable_bytes", stats.memtable_bytes)
        .num("frozen_memtables", stats.frozen_memtables)
        .num("wal_bytes", stats.wal_bytes)
        .num("writes", stats.writes)
        .num("user_bytes", stats.user_bytes)
        .float("write_amplification", stats.write_amplification)
        .num("read_amplification", stats.read_amplification)
        .float("space_amplification", stats.space_amplification)
        .num("slowdowns", stats.slowdowns)
        .num("stops", stats.stops)
        .num("stall_ns", stats.stall_time.as_nanos())
        .num("table_reader_bytes", stats.table_reader_bytes)
        .num("block_cache_bytes", stats.block_cache_bytes)
        .num("block_cache_capacity", stats.block_cache_capacity)
        .num("snapshots", stats.snapshots)
        .num("flushes", c.flushes)
        .num("flush_bytes", c.flush_bytes)
        .num("compactions", c.compactions)
        .num("trivial_moves", c.trivial_moves)
        .num("compaction_read_bytes", c.compaction_read_bytes)
        .num("compaction_write_bytes", c.compaction_write_bytes)
        .raw(
            "background_error",
            &string_or_null(stats.background_error.as_deref()),
        )
        .finish()
}

/// Prints the shape of the database in `--db`, as text or JSON.
///
/// # Errors
/// No database, a database error.
pub(crate) fn stats(args: &StatsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = &args.report.db.db;
    let db = open_for_reading(path)?;
    let stats = db.stats();
    let l0 = L0Limits::of(db.options());
    db.close().map_err(db_error(path))?;
    if let Some(file) = &args.svg {
        let image = super::stats_svg::svg(&stats, l0);
        std::fs::write(file, image).map_err(|source| CliError::Io {
            path: file.clone(),
            source,
        })?;
    }
    if args.report.json {
        return writeln!(out, "{}", stats_json(&stats)).map_err(output);
    }
    let mut text = format!(
        "{}\n{}\n{}",
        picture(&stats, l0),
        shape_table(&stats),
        summary(&stats)
    );
    for keyspace in &stats.keyspaces {
        let _ = write!(
            text,
            "\n\nkeyspace {}: memtable {} ({} frozen)\n{}\n{}",
            escape(keyspace.name.as_bytes()),
            human_bytes(keyspace.memtable_bytes),
            keyspace.frozen_memtables,
            levels_picture(&keyspace.levels, l0),
            levels_table(&keyspace.levels).trim_end()
        );
    }
    writeln!(out, "{text}").map_err(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(sizes: &[u64]) -> LevelStats {
        let tables: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| TableStats {
                id: i as u64,
                size,
                smallest: vec![b'a'],
                largest: vec![b'z'],
                entries: 1,
            })
            .collect();
        LevelStats {
            level: 1,
            files: tables.len(),
            bytes: sizes.iter().sum(),
            target_bytes: 0,
            tables,
        }
    }

    #[test]
    fn bars_split_in_proportion_to_file_sizes() {
        assert_eq!(bar(&level(&[30, 10]), 8), "██████▒▒");
        assert_eq!(bar(&level(&[]), 8), "");
    }

    #[test]
    fn long_keys_are_cut() {
        assert_eq!(short_key(&[b'k'; 30]).chars().count(), KEY_WIDTH + 1);
        assert_eq!(short_key(b"\x00"), "\\x00");
    }
}
