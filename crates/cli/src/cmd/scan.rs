//! `scan`: pairs in key order within bounds, either direction.

use std::io::{self, Write};
use std::ops::Bound;

use super::open::{db_error, open_for_reading};
use crate::CliError;
use crate::args::ScanArgs;
use crate::error::output;
use crate::escape::Format;
use crate::json::Object;

/// A key range, lower and upper bound.
pub(crate) type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The smallest key above every key starting with `prefix` (`None`: no such key).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The tighter of two lower bounds (both inclusive or unbounded).
fn max_lower(a: Option<Vec<u8>>, b: Option<Vec<u8>>) -> Bound<Vec<u8>> {
    match a.into_iter().chain(b).max() {
        Some(k) => Bound::Included(k),
        None => Bound::Unbounded,
    }
}

/// The tighter of two exclusive upper bounds.
fn min_upper(a: Option<Vec<u8>>, b: Option<Vec<u8>>) -> Bound<Vec<u8>> {
    match a.into_iter().chain(b).min() {
        Some(k) => Bound::Excluded(k),
        None => Bound::Unbounded,
    }
}

/// The range `--from`, `--to` and `--prefix` describe together.
///
/// # Errors
/// An argument that does not parse in `format`.
pub(crate) fn bounds(args: &ScanArgs, format: Format) -> Result<KeyRange, CliError> {
    let parse = |text: &Option<String>, what: &str| {
        text.as_deref()
            .map(|t| {
                format
                    .parse(t)
                    .map_err(|e| CliError::Usage(format!("--{what}: {e}")))
            })
            .transpose()
    };
    let (from, to, prefix) = (
        parse(&args.from, "from")?,
        parse(&args.to, "to")?,
        parse(&args.prefix, "prefix")?,
    );
    let prefix_upper = prefix.as_deref().and_then(prefix_end);
    Ok((max_lower(from, prefix), min_upper(to, prefix_upper)))
}

fn print_pair(out: &mut dyn Write, format: Format, key: &[u8], value: &[u8]) -> io::Result<()> {
    format.write(out, key)?;
    out.write_all(b"\t")?;
    format.write(out, value)?;
    out.write_all(b"\n")
}

/// `{"key":…,"value":…}` with the strings as `format` shows them.
fn json_pair(format: Format, key: &[u8], value: &[u8]) -> String {
    Object::new()
        .str("key", &format.show(key))
        .str("value", &format.show(value))
        .finish()
}

/// Prints `key<TAB>value` lines, or JSON lines.
///
/// # Errors
/// No database, a database error (damage met while scanning), bad arguments.
pub(crate) fn scan(args: &ScanArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let format = args.format.format();
    let range = bounds(args, format)?;
    let path = &args.db.db;
    let db = open_for_reading(path)?;
    let iter = match &args.keyspace {
        Some(name) => super::kv::existing(&db, name)?.range(range),
        None => db.range(range),
    };
    let iter: Box<dyn Iterator<Item = _>> = if args.reverse {
        Box::new(iter.rev())
    } else {
        Box::new(iter)
    };
    let limit = args.limit.unwrap_or(u64::MAX);
    for kv in iter.take(usize::try_from(limit).unwrap_or(usize::MAX)) {
        let (k, v) = kv.map_err(db_error(path))?;
        if args.json {
            writeln!(out, "{}", json_pair(format, &k, &v)).map_err(output)?;
        } else {
            print_pair(out, format, &k, &v).map_err(output)?;
        }
    }
    db.close().map_err(db_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_skips_trailing_ff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn bounds_take_the_tighter_side() {
        assert_eq!(
            max_lower(Some(b"b".to_vec()), Some(b"a".to_vec())),
            Bound::Included(b"b".to_vec())
        );
        assert_eq!(
            min_upper(None, Some(b"c".to_vec())),
            Bound::Excluded(b"c".to_vec())
        );
        assert_eq!(min_upper(None, None), Bound::Unbounded);
    }
}
