//! The cursor conformance harness: drives any [`Cursor`] and a sorted model through the
//! same operations and asserts that they agree at every step.
//!
//! Every cursor in quickcache (block, table, memtable, merge, level) runs through
//! [`check_cursor`] in its tests. Enable with the `conformance` feature.

use std::collections::BTreeMap;

use super::Cursor;
use crate::{InternalKey, KeyRef, SeqNo, ValueKind};

/// The model: what the cursor under test must contain, in order.
pub type Model = BTreeMap<InternalKey, Vec<u8>>;

/// A cursor over the model: an index into its sorted entries (`len` = invalid).
struct ModelCursor<'a> {
    entries: Vec<(&'a InternalKey, &'a Vec<u8>)>,
    pos: usize,
}

impl<'a> ModelCursor<'a> {
    fn new(model: &'a Model) -> Self {
        let entries: Vec<_> = model.iter().collect();
        let pos = entries.len();
        ModelCursor { entries, pos }
    }

    fn current(&self) -> Option<(KeyRef<'a>, &'a [u8])> {
        self.entries
            .get(self.pos)
            .map(|(k, v)| (k.as_ref(), v.as_slice()))
    }

    fn seek(&mut self, target: KeyRef<'_>) {
        self.pos = self.entries.partition_point(|(k, _)| k.as_ref() < target);
    }

    fn seek_for_prev(&mut self, target: KeyRef<'_>) {
        let after = self.entries.partition_point(|(k, _)| k.as_ref() <= target);
        self.pos = after.checked_sub(1).unwrap_or(self.entries.len());
    }

    fn last(&mut self) {
        self.pos = self.entries.len().saturating_sub(1);
    }

    fn next(&mut self) {
        if self.pos < self.entries.len() {
            self.pos += 1;
        }
    }

    fn prev(&mut self) {
        if self.pos < self.entries.len() {
            self.pos = self.pos.checked_sub(1).unwrap_or(self.entries.len());
        }
    }
}

fn assert_same<C: Cursor + ?Sized>(cursor: &C, model: &ModelCursor<'_>, step: &str) {
    let got = cursor
        .key()
        .map(|k| (k.to_owned(), cursor.value().map(<[u8]>::to_vec)));
    let want = model
        .current()
        .map(|(k, v)| (k.to_owned(), Some(v.to_vec())));
    assert_eq!(got, want, "cursor and model disagree after {step}");
    assert_eq!(cursor.valid(), want.is_some(), "valid() wrong after {step}");
}

/// Walks the whole cursor forward and backward, seeks to every model key and to keys
/// between them, switches direction after each seek, and checks that stepping an
/// invalid cursor keeps it invalid. Panics (fails the test) at the first disagreement.
pub fn check_cursor<C: Cursor + ?Sized>(cursor: &mut C, model: &Model) {
    let mut m = ModelCursor::new(model);
    run(cursor, &mut m, "seek_to_first", |c, m| {
        m.pos = 0;
        c.seek_to_first()
    });
    while m.current().is_some() {
        run(cursor, &mut m, "next (forward scan)", |c, m| {
            m.next();
            c.next()
        });
    }
    run(cursor, &mut m, "next on invalid", |c, m| {
        m.next();
        c.next()
    });
    run(cursor, &mut m, "seek_to_last", |c, m| {
        m.last();
        c.seek_to_last()
    });
    while m.current().is_some() {
        run(cursor, &mut m, "prev (reverse scan)", |c, m| {
            m.prev();
            c.prev()
        });
    }
    run(cursor, &mut m, "prev on invalid", |c, m| {
        m.prev();
        c.prev()
    });
    for target in probes(model) {
        check_seeks_at(cursor, &mut m, target.as_ref());
    }
}

fn check_seeks_at<C: Cursor + ?Sized>(c: &mut C, m: &mut ModelCursor<'_>, t: KeyRef<'_>) {
    let label = format!("seek({t:?})");
    run(c, m, &label, |c, m| {
        m.seek(t);
        c.seek(t)
    });
    run(c, m, &format!("{label} then next"), |c, m| {
        m.next();
        c.next()
    });
    run(c, m, &format!("{label}, next, prev"), |c, m| {
        m.prev();
        c.prev()
    });
    run(c, m, &format!("{label}, next, prev, prev"), |c, m| {
        m.prev();
        c.prev()
    });
    let label = format!("seek_for_prev({t:?})");
    run(c, m, &label, |c, m| {
        m.seek_for_prev(t);
        c.seek_for_prev(t)
    });
    run(c, m, &format!("{label} then prev"), |c, m| {
        m.prev();
        c.prev()
    });
    run(c, m, &format!("{label}, prev, next"), |c, m| {
        m.next();
        c.next()
    });
    // Turning forward right after a backward seek: a cursor that reads backward in
    // chunks must leave its chunk at its far edge here.
    run(c, m, &format!("{label} again"), |c, m| {
        m.seek_for_prev(t);
        c.seek_for_prev(t)
    });
    run(c, m, &format!("{label} then next"), |c, m| {
        m.next();
        c.next()
    });
    run(c, m, &format!("{label}, next, next"), |c, m| {
        m.next();
        c.next()
    });
}

fn run<C, F>(cursor: &mut C, model: &mut ModelCursor<'_>, step: &str, op: F)
where
    C: Cursor + ?Sized,
    F: FnOnce(&mut C, &mut ModelCursor<'_>) -> crate::Result<()>,
{
    let result = op(cursor, model);
    assert!(result.is_ok(), "cursor failed during {step}: {result:?}");
    assert_same(cursor, model, step);
}

/// Seek targets: every key, every user key at the newest and oldest possible snapshot,
/// keys just before and after each user key, and keys outside the whole range.
fn probes(model: &Model) -> Vec<InternalKey> {
    let mut out = vec![
        InternalKey::new(Vec::new(), SeqNo::MAX, ValueKind::SEEK),
        InternalKey::new(vec![0xff; 40], SeqNo::ZERO, ValueKind::Value),
    ];
    for key in model.keys() {
        out.push(key.clone());
        let user = &key.user_key;
        out.push(InternalKey::new(user.clone(), SeqNo::MAX, ValueKind::SEEK));
        out.push(InternalKey::new(
            user.clone(),
            SeqNo::ZERO,
            ValueKind::Value,
        ));
        if let Some(s) = key.seqno.get().checked_sub(1).and_then(SeqNo::new) {
            out.push(InternalKey::new(user.clone(), s, ValueKind::SEEK));
        }
        let mut after = user.clone();
        after.push(0);
        out.push(InternalKey::new(after, SeqNo::MAX, ValueKind::SEEK));
    }
    out
}

/// A correct cursor over sorted, distinct entries: the reference implementation the
/// harness is checked against, and a stand-in source (a frozen memtable, an input) in
/// other crates' tests.
#[derive(Debug, Clone, Default)]
pub struct VecCursor {
    entries: Vec<(InternalKey, Vec<u8>)>,
    pos: Option<usize>,
}

impl VecCursor {
    /// A cursor over `entries`, sorted and with duplicate keys removed (first kept).
    pub fn new(mut entries: Vec<(InternalKey, Vec<u8>)>) -> Self {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        VecCursor { entries, pos: None }
    }

    /// A cursor over a copy of the model's entries.
    pub fn from_model(model: &Model) -> Self {
        let entries = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        VecCursor { entries, pos: None }
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(InternalKey, Vec<u8>)] {
        &self.entries
    }
}

impl Cursor for VecCursor {
    fn seek(&mut self, t: KeyRef<'_>) -> crate::Result<()> {
        let i = self.entries.partition_point(|(k, _)| k.as_ref() < t);
        self.pos = (i < self.entries.len()).then_some(i);
        Ok(())
    }
    fn seek_to_first(&mut self) -> crate::Result<()> {
        self.pos = (!self.entries.is_empty()).then_some(0);
        Ok(())
    }
    fn seek_to_last(&mut self) -> crate::Result<()> {
        self.pos = self.entries.len().checked_sub(1);
        Ok(())
    }
    fn next(&mut self) -> crate::Result<()> {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
        Ok(())
    }
    fn prev(&mut self) -> crate::Result<()> {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
        Ok(())
    }
    fn key(&self) -> Option<KeyRef<'_>> {
        self.pos
            .and_then(|p| self.entries.get(p))
            .map(|(k, _)| k.as_ref())
    }
    fn value(&self) -> Option<&[u8]> {
        self.pos
            .and_then(|p| self.entries.get(p))
            .map(|(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let mut m = Model::new();
        for (i, key) in [b"a".as_slice(), b"b", b"b", b"d"].iter().enumerate() {
            let seq = SeqNo::new(i as u64 + 1).unwrap();
            m.insert(
                InternalKey::new(key.to_vec(), seq, ValueKind::Value),
                vec![i as u8],
            );
        }
        m
    }

    #[test]
    fn accepts_a_correct_cursor() {
        let m = model();
        let entries = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        check_cursor(&mut VecCursor { entries, pos: None }, &m);
        check_cursor(
            &mut VecCursor {
                entries: Vec::new(),
                pos: None,
            },
            &Model::new(),
        );
    }

    #[test]
    #[should_panic(expected = "disagree")]
    fn rejects_a_cursor_that_skips_an_entry() {
        let m = model();
        let mut entries: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        entries.remove(1);
        check_cursor(&mut VecCursor { entries, pos: None }, &m);
    }
}
