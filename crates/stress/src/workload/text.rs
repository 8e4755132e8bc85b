//! The one-line text form of an operation, which the kill test's oracle files hold.
//!
//! Backward compatible: every line an older build wrote (`W`, `S`, `F`, `C`) parses
//! to the same operation; the newer operations have letters of their own (`X` a
//! transaction, `K` a checkpoint, `G` an ingest), which an older build refuses.

use std::fmt::Write as _;

use quickcache::Durability;

use super::{Edit, Op};

/// Appends the text of `edits`: ` P <key> <tag> <len>`, ` D <key>`, ` R <start> <end>`,
/// ` T <key> <tag> <len> <expired 0|1>`.
fn write_edits(line: &mut String, edits: &[Edit]) {
    for edit in edits {
        let _ = match edit {
            Edit::Put { key, tag, len } => {
                write!(line, " P {} {tag} {len}", String::from_utf8_lossy(key))
            }
            Edit::Delete { key } => write!(line, " D {}", String::from_utf8_lossy(key)),
            Edit::DeleteRange { start, end } => write!(
                line,
                " R {} {}",
                String::from_utf8_lossy(start),
                String::from_utf8_lossy(end)
            ),
            Edit::PutTtl {
                key,
                tag,
                len,
                expired,
            } => {
                let (key, e) = (String::from_utf8_lossy(key), u8::from(*expired));
                write!(line, " T {key} {tag} {len} {e}")
            }
        };
    }
}

/// Parses what [`write_edits`] wrote.
fn parse_edits<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<Vec<Edit>> {
    let mut edits = Vec::new();
    while let Some(kind) = words.next() {
        let key = words.next()?.as_bytes().to_vec();
        edits.push(match kind {
            "P" => Edit::Put {
                key,
                tag: words.next()?.parse().ok()?,
                len: words.next()?.parse().ok()?,
            },
            "D" => Edit::Delete { key },
            "R" => Edit::DeleteRange {
                start: key,
                end: words.next()?.as_bytes().to_vec(),
            },
            "T" => Edit::PutTtl {
                key,
                tag: words.next()?.parse().ok()?,
                len: words.next()?.parse().ok()?,
                expired: match words.next()? {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                },
            },
            _ => return None,
        });
    }
    Some(edits)
}

impl Op {
    /// The one-line text form: `W <o|s|b> <edits>`, `S`, `F`, `C`, `X <edits>` (a
    /// transaction), `K <id>` (a checkpoint), `G <id> <edits>` (an ingest of puts),
    /// where the edits are `P <key> <tag> <len>`, `D <key>`, `R <start> <end>` and
    /// `T <key> <tag> <len> <expired 0|1>`. Keys are printable ASCII without spaces.
    pub fn to_line(&self) -> String {
        match self {
            Op::Write { edits, durability } => {
                let d = match durability {
                    Durability::Synced => 's',
                    Durability::Buffered => 'b',
                    _ => 'o',
                };
                let mut line = format!("W {d}");
                write_edits(&mut line, edits);
                line
            }
            Op::Sync => "S".into(),
            Op::Flush => "F".into(),
            Op::Compact => "C".into(),
            Op::Transaction { edits } => {
                let mut line = "X".to_string();
                write_edits(&mut line, edits);
                line
            }
            Op::Checkpoint { id } => format!("K {id}"),
            Op::Ingest { id, entries } => {
                let mut line = format!("G {id}");
                write_edits(&mut line, entries);
                line
            }
        }
    }

    /// Parses [`Op::to_line`]'s form.
    pub fn from_line(line: &str) -> Option<Op> {
        let mut words = line.split(' ');
        match words.next()? {
            "S" => return Some(Op::Sync),
            "F" => return Some(Op::Flush),
            "C" => return Some(Op::Compact),
            "X" => {
                let edits = parse_edits(words)?;
                let simple = |e: &Edit| matches!(e, Edit::Put { .. } | Edit::Delete { .. });
                return edits
                    .iter()
                    .all(simple)
                    .then_some(Op::Transaction { edits });
            }
            "K" => {
                let id = words.next()?.parse().ok()?;
                return words.next().is_none().then_some(Op::Checkpoint { id });
            }
            "G" => {
                let id = words.next()?.parse().ok()?;
                let entries = parse_edits(words)?;
                let put = |e: &Edit| matches!(e, Edit::Put { .. });
                return entries
                    .iter()
                    .all(put)
                    .then_some(Op::Ingest { id, entries });
            }
            "W" => {}
            _ => return None,
        }
        let durability = match words.next()? {
            "s" => Durability::Synced,
            "b" => Durability::Buffered,
            "o" => Durability::Os,
            _ => return None,
        };
        let edits = parse_edits(words)?;
        Some(Op::Write { edits, durability })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Shape, generate};
    use super::*;

    #[test]
    fn lines_round_trip() {
        let shape = Shape {
            maintenance_one_in: 3,
            large_one_in: 4,
            features_one_in: 4,
            ..Shape::small()
        };
        let ops = generate(5, &shape, 300);
        for op in &ops {
            assert_eq!(Op::from_line(&op.to_line()).as_ref(), Some(op));
        }
        let line = |op: &Op| op.to_line();
        for (what, start) in [
            ("puts with a ttl", " T "),
            ("transactions", "X "),
            ("checkpoints", "K "),
            ("ingests", "G "),
        ] {
            assert!(
                ops.iter()
                    .any(|op| line(op).starts_with(start) || line(op).contains(start)),
                "no {what} drawn"
            );
        }
        assert_eq!(Op::from_line("W x P k 1 2"), None);
        assert_eq!(Op::from_line("W o T k 1 2 3"), None);
        assert_eq!(Op::from_line("W o P k 1"), None);
        assert_eq!(Op::from_line("X R a b"), None);
        assert_eq!(Op::from_line("G 3 D k"), None);
        assert_eq!(Op::from_line("K 3 4"), None);
    }

    /// Lines an older build wrote (before transactions, checkpoints and ingests
    /// entered the workload) still parse: recorded oracles replay.
    #[test]
    fn older_lines_parse_unchanged() {
        let old = "W o P k00033 1 22 D k00001 R k00379 k00384 T k00002 7 9 1";
        let op = Op::from_line(old).unwrap();
        assert_eq!(op.to_line(), old);
        for line in ["S", "F", "C", "W s P k1 2 3", "W b D k9"] {
            assert_eq!(Op::from_line(line).unwrap().to_line(), line);
        }
    }
}
