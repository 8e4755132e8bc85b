//! `stats --svg`: the tree's picture as an SVG image, one row per level and tree,
//! each file a rectangle to scale, each level's target a dashed line.

use std::fmt::Write as _;

use quickcache::{LevelStats, Stats};

use super::stats::{L0Limits, level_note, scale};

/// Pixels of the widest bar.
const BAR_PX: u64 = 600;
/// Pixels per row.
const ROW_PX: u64 = 28;
/// Where the bars start (after the level label).
const LEFT_PX: u64 = 40;
/// Files of a level alternate between these fills.
const FILLS: [&str; 2] = ["#3b6ea5", "#7fa7d1"];

/// Escapes text for an SVG text node.
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One tree's rows from `top`: a label, the files, the target, the note.
fn rows(out: &mut String, levels: &[LevelStats], l0: L0Limits, top: u64) {
    let scale = scale(levels);
    for (row, level) in levels.iter().enumerate() {
        let y = top + row as u64 * ROW_PX;
        let _ = write!(
            out,
            r#"<text x="4" y="{}" class="label">L{}</text>"#,
            y + 18,
            level.level
        );
        let mut x = 0u64;
        for (i, table) in level.tables.iter().enumerate() {
            let w = (table.size * BAR_PX).div_ceil(scale).max(1);
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{w}" height="20" fill="{}"><title>table {} ({} bytes)</title></rect>"#,
                LEFT_PX + x,
                y + 4,
                FILLS[i % 2],
                table.id,
                table.size
            );
            x += w;
        }
        if level.target_bytes > 0 {
            let tx = LEFT_PX + level.target_bytes * BAR_PX / scale;
            let _ = write!(
                out,
                r#"<line x1="{tx}" y1="{}" x2="{tx}" y2="{}" class="target"/>"#,
                y + 1,
                y + 27
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" class="note">{}</text>"#,
            LEFT_PX + BAR_PX + 12,
            y + 18,
            text(&level_note(level, l0))
        );
    }
}

/// The picture of every tree in `stats` (the default keyspace first) as a
/// standalone SVG document.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// db.flush()?;
/// let limits = quickcache_cli::cmd::L0Limits::of(db.options());
/// let image = quickcache_cli::cmd::svg(&db.stats(), limits);
/// assert!(image.starts_with("<svg") && image.ends_with("</svg>\n"));
/// assert_eq!(image.matches("<rect").count(), 1); // the one table
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn svg(stats: &Stats, l0: L0Limits) -> String {
    let trees: Vec<(&str, &[LevelStats])> = std::iter::once(("default", &stats.levels[..]))
        .chain(
            stats
                .keyspaces
                .iter()
                .map(|k| (k.name.as_str(), &k.levels[..])),
        )
        .collect();
    let tree_px = |levels: &[LevelStats]| 24 + levels.len() as u64 * ROW_PX;
    let height: u64 = trees.iter().map(|(_, l)| tree_px(l)).sum::<u64>() + 8;
    let width = LEFT_PX + BAR_PX + 460;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="13">"#
    );
    out.push_str(
        "<style>.label{font-weight:bold}.title{font-weight:bold}.note{fill:#333}\
         .target{stroke:#c0392b;stroke-width:2;stroke-dasharray:4 3}</style>",
    );
    let mut top = 4;
    for (name, levels) in trees {
        let _ = write!(
            out,
            r#"<text x="4" y="{}" class="title">keyspace {}</text>"#,
            top + 16,
            text(name)
        );
        rows(&mut out, levels, l0, top + 24);
        top += tree_px(levels);
    }
    out.push_str("</svg>\n");
    out
}
