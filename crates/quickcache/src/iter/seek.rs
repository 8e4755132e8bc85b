//! Repositioning an open iterator: [`Iter::seek`] and [`Iter::seek_for_prev`].

use super::Iter;

impl Iter {
    /// Moves the front end: the next [`Iterator::next`] (or [`Iter::next_ref`])
    /// returns the first entry at or after `key`, within the iterator's range and at
    /// its snapshot. Seeking below the range's start goes to the start. The back end
    /// keeps its place; the two still never yield a key past the other's position,
    /// but what the front yielded before the seek is forgotten, so it may be yielded
    /// again (forward after a backward seek, or by the back end).
    ///
    /// The front's sources are opened again at the next step: a seek costs about
    /// what a new iterator costs, without taking a new snapshot.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for k in ["a", "c", "e"] {
    ///     db.put(k, "v")?;
    /// }
    /// let mut iter = db.iter();
    /// iter.seek("b");
    /// assert_eq!(iter.next().unwrap()?.0, b"c");
    /// iter.seek("a"); // back again
    /// assert_eq!(iter.next().unwrap()?.0, b"a");
    /// iter.seek("f");
    /// assert!(iter.next().is_none());
    /// iter.seek("e"); // a seek revives an iterator that ran out
    /// assert_eq!(iter.next().unwrap()?.0, b"e");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seek(&mut self, key: impl AsRef<[u8]>) {
        if self.view.is_none() {
            // A failed iterator keeps its one error to report.
            return;
        }
        let ends = &mut self.ends;
        ends.front_target = Some(key.as_ref().to_vec());
        ends.front_last = None;
        ends.front_pending = false;
        self.front = None;
        self.done = false;
    }

    /// Moves the back end: the next [`DoubleEndedIterator::next_back`] (or
    /// [`Iter::next_back_ref`]) returns the last entry at or before `key`, within
    /// the iterator's range. Seeking above the range's end goes to the end. The
    /// mirror of [`Iter::seek`]: the front end keeps its place.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for k in ["a", "c", "e"] {
    ///     db.put(k, "v")?;
    /// }
    /// let mut iter = db.range("a".."e");
    /// iter.seek_for_prev("d");
    /// assert_eq!(iter.next_back().unwrap()?.0, b"c");
    /// iter.seek_for_prev("z"); // clamped to the range: "e" is outside it
    /// assert_eq!(iter.next_back().unwrap()?.0, b"c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seek_for_prev(&mut self, key: impl AsRef<[u8]>) {
        if self.view.is_none() {
            return;
        }
        let ends = &mut self.ends;
        ends.back_target = Some(key.as_ref().to_vec());
        ends.back_last = None;
        ends.back_value = None;
        self.back = None;
        self.done = false;
    }
}
