//! The ratio chart: for each row, one horizontal bar per other engine showing how many
//! times quickcache's figure theirs is, on a log scale centred on 1 (equal).

use std::fmt::Write as _;

/// One row of the chart: a label and each other engine's ratio (engine / quickcache,
/// so above 1 means the engine is better).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The workload.
    pub(crate) label: String,
    /// (engine, ratio) pairs.
    pub(crate) bars: Vec<(String, f64)>,
}

const WIDTH: f64 = 900.0;
const LABEL: f64 = 140.0;
const BAR_H: f64 = 11.0;
const ROW_GAP: f64 = 8.0;
const TOP: f64 = 50.0;
/// The axis spans 1/64 .. 64.
const SPAN_LOG2: f64 = 6.0;
const COLORS: [&str; 5] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1"];

fn x_of(ratio: f64) -> f64 {
    let plot = WIDTH - LABEL - 20.0;
    let l = ratio.max(1e-9).log2().clamp(-SPAN_LOG2, SPAN_LOG2);
    LABEL + plot / 2.0 + l / SPAN_LOG2 * plot / 2.0
}

fn axis(out: &mut String, height: f64) {
    for e in -6i32..=6 {
        let ratio = 2f64.powi(e);
        let x = x_of(ratio);
        let text = if e >= 0 {
            format!("{}×", 1u64 << e)
        } else {
            format!("1/{}", 1u64 << -e)
        };
        let stroke = if e == 0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}"/>"#,
            TOP - 5.0,
            height - 20.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{text}</text>"#,
            height - 6.0
        );
    }
}

fn legend(out: &mut String, engines: &[String]) {
    for (i, e) in engines.iter().enumerate() {
        let x = LABEL + i as f64 * 110.0;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="26" width="12" height="10" fill="{color}"/>"#
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="35" font-size="11">{e}</text>"#,
            x + 16.0
        );
    }
}

/// The chart for `rows`; `engines` fixes the colours.
pub(crate) fn chart(rows: &[Row], engines: &[String]) -> String {
    let row_h = engines.len().max(1) as f64 * BAR_H + ROW_GAP;
    let height = TOP + rows.len() as f64 * row_h + 30.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LABEL}" y="16" font-size="13">Other engines relative to quickcache (right of the black line: faster than quickcache; log scale)</text>"#
    );
    legend(&mut out, engines);
    axis(&mut out, height);
    let centre = x_of(1.0);
    for (r, row) in rows.iter().enumerate() {
        let y0 = TOP + r as f64 * row_h;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"#,
            LABEL - 6.0,
            y0 + row_h / 2.0,
            row.label
        );
        for (engine, ratio) in &row.bars {
            let i = engines.iter().position(|e| e == engine).unwrap_or(0);
            let y = y0 + i as f64 * BAR_H;
            let x = x_of(*ratio);
            let (left, w) = if x >= centre {
                (centre, x - centre)
            } else {
                (x, centre - x)
            };
            let color = COLORS[i % COLORS.len()];
            let _ = writeln!(
                out,
                r#"<rect x="{left:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{engine}: {ratio:.2}×</title></rect>"#,
                w.max(1.0),
                BAR_H - 2.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_is_the_centre_and_the_scale_is_symmetric() {
        let c = x_of(1.0);
        assert!((x_of(4.0) - c - (c - x_of(0.25))).abs() < 1e-9);
        assert_eq!(x_of(1e6), x_of(64.0));
    }

    #[test]
    fn chart_has_a_bar_per_engine_and_row() {
        let rows = vec![Row {
            label: "fillseq".into(),
            bars: vec![("fjall".into(), 0.5), ("sled".into(), 2.0)],
        }];
        let svg = chart(&rows, &["fjall".into(), "sled".into()]);
        assert_eq!(svg.matches("<title>").count(), 2);
        assert!(svg.contains("fjall: 0.50×") && svg.ends_with("</svg>\n"));
    }
}
