//! The level cursor: one sorted view over the non-overlapping tables of a level,
//! opening each table's cursor only when the walk reaches it.

use quickcache_sstable::{Cursor, KeyRef, Result};

/// A table as the level cursor sees it: a key range and a way to open a cursor.
pub trait LevelTable {
    /// The cursor over the table's entries.
    type Cursor: Cursor;

    /// The largest internal key of the table.
    fn largest(&self) -> KeyRef<'_>;

    /// Opens a cursor over the table (unpositioned).
    fn open_cursor(&self) -> Result<Self::Cursor>;
}

/// A cursor over a level: tables sorted by key, ranges disjoint.
///
/// Valid iff the currently open table's cursor is valid. At most one table's cursor is
/// open at a time; moving past a table's end opens the neighbour. After an error the
/// cursor is invalid.
///
/// The table list `S` is anything viewable as a slice (`AsRef<[T]>`): a `Vec` of its
/// own, or a list shared with the version holding it (see [`crate::LevelTables`]), so
/// that a reader's cursor does not copy a level's table list.
#[derive(Debug)]
pub struct LevelCursor<T: LevelTable, S: AsRef<[T]> = Vec<T>> {
    tables: S,
    /// The open table's index and cursor.
    open: Option<(usize, T::Cursor)>,
}

impl<T: LevelTable, S: AsRef<[T]>> LevelCursor<T, S> {
    /// A cursor over `tables`, which must be sorted by key with disjoint ranges.
    pub fn new(tables: S) -> Self {
        LevelCursor { tables, open: None }
    }

    /// The cursor of the table the level cursor stands on; `Some` iff valid.
    pub fn table_cursor(&self) -> Option<&T::Cursor> {
        self.open.as_ref().map(|(_, c)| c).filter(|c| c.valid())
    }

    /// Opens table `index` and positions it with `position`; closes it if out of range.
    fn open_at(
        &mut self,
        index: usize,
        position: impl FnOnce(&mut T::Cursor) -> Result<()>,
    ) -> Result<()> {
        self.open = None;
        let Some(table) = self.tables.as_ref().get(index) else {
            return Ok(());
        };
        let mut cursor = table.open_cursor()?;
        position(&mut cursor)?;
        self.open = Some((index, cursor));
        Ok(())
    }

    /// While the open cursor is exhausted, moves to the first entry of the next table.
    fn skip_forward(&mut self) -> Result<()> {
        while let Some((index, cursor)) = &self.open {
            if cursor.valid() {
                return Ok(());
            }
            let next = index + 1;
            self.open_at(next, Cursor::seek_to_first)?;
        }
        Ok(())
    }

    /// While the open cursor is exhausted, moves to the last entry of the previous table.
    fn skip_backward(&mut self) -> Result<()> {
        while let Some((index, cursor)) = &self.open {
            if cursor.valid() {
                return Ok(());
            }
            match index.checked_sub(1) {
                Some(prev) => self.open_at(prev, Cursor::seek_to_last)?,
                None => self.open = None,
            }
        }
        Ok(())
    }

    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let result = op(self);
        if result.is_err() {
            self.open = None;
        }
        result
    }
}

impl<T: LevelTable, S: AsRef<[T]>> Cursor for LevelCursor<T, S> {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.guarded(|s| {
            let index = s.tables.as_ref().partition_point(|t| t.largest() < target);
            s.open_at(index, |c| c.seek(target))?;
            s.skip_forward()
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            s.open_at(0, Cursor::seek_to_first)?;
            s.skip_forward()
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|s| match s.tables.as_ref().len().checked_sub(1) {
            Some(last) => {
                s.open_at(last, Cursor::seek_to_last)?;
                s.skip_backward()
            }
            None => {
                s.open = None;
                Ok(())
            }
        })
    }

    fn next(&mut self) -> Result<()> {
        self.guarded(|s| match &mut s.open {
            Some((_, cursor)) if cursor.valid() => {
                cursor.next()?;
                s.skip_forward()
            }
            _ => Ok(()),
        })
    }

    fn prev(&mut self) -> Result<()> {
        self.guarded(|s| match &mut s.open {
            Some((_, cursor)) if cursor.valid() => {
                cursor.prev()?;
                s.skip_backward()
            }
            _ => Ok(()),
        })
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        self.open.as_ref().and_then(|(_, c)| c.key())
    }

    fn valid(&self) -> bool {
        self.open.as_ref().is_some_and(|(_, c)| c.valid())
    }

    fn value(&self) -> Option<&[u8]> {
        self.open.as_ref().and_then(|(_, c)| c.value())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use quickcache_sstable::InternalKey;
    use quickcache_sstable::conformance::{Model, check_cursor};
    use quickcheck::quickcheck;

    use super::*;
    use crate::testing::{VecCursor, ikey};

    struct TestTable {
        cursor: VecCursor,
        opens: Rc<Cell<usize>>,
    }

    impl LevelTable for TestTable {
        type Cursor = VecCursor;
        fn largest(&self) -> KeyRef<'_> {
            self.cursor.entries().last().map(|e| e.0.as_ref()).unwrap()
        }
        fn open_cursor(&self) -> Result<VecCursor> {
            self.opens.set(self.opens.get() + 1);
            Ok(self.cursor.clone())
        }
    }

    /// Cuts the model's entries into tables of the given sizes (a size of 0 counts as 1).
    fn level(model: &Model, sizes: &[u8], opens: &Rc<Cell<usize>>) -> Vec<TestTable> {
        let entries: Vec<(InternalKey, Vec<u8>)> =
            model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut tables = Vec::new();
        let mut rest = entries.as_slice();
        let mut size = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = usize::from(*size.next().unwrap_or(&1)).clamp(1, rest.len());
            let (head, tail) = rest.split_at(n);
            tables.push(TestTable {
                cursor: VecCursor::new(head.to_vec()),
                opens: Rc::clone(opens),
            });
            rest = tail;
        }
        tables
    }

    quickcheck! {
        fn level_conforms_to_the_harness(keys: Vec<(u8, u64, bool)>, sizes: Vec<u8>) -> bool {
            let model: Model = keys
                .iter()
                .map(|&(u, s, t)| (ikey(u, s, t), vec![u]))
                .collect();
            let sizes: Vec<u8> = sizes.iter().map(|s| s % 4).collect();
            let opens = Rc::new(Cell::new(0));
            check_cursor(&mut LevelCursor::new(level(&model, &sizes, &opens)), &model);
            true
        }
    }

    #[test]
    fn tables_open_lazily() {
        let model: Model = (0..8).map(|u| (ikey(u, 1, false), vec![u])).collect();
        let opens = Rc::new(Cell::new(0));
        let mut cursor = LevelCursor::new(level(&model, &[2], &opens));
        assert_eq!(opens.get(), 0);
        cursor.seek(ikey(5, 1, false).as_ref()).unwrap();
        assert_eq!(
            opens.get(),
            1,
            "a seek opens only the table holding the target"
        );
        assert_eq!(
            cursor.key().map(|k| k.user_key.to_vec()),
            Some(vec![b'k', 5])
        );
        cursor.next().unwrap();
        cursor.next().unwrap();
        assert_eq!(opens.get(), 2);
    }
}
