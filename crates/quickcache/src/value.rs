//! `Value`: a value returned by a read, either a view into a mapped table or owned bytes.

use std::fmt;
use std::ops::Deref;

/// A key returned by an iterator (owned: the iterator moves on).
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// let keys: Vec<quickcache::Key> = db.iter().map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, [b"k".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Key = Vec<u8>;

/// A value read from the database. Dereferences to `[u8]`.
///
/// A value found in a table is a zero-copy view into the table's memory map (it keeps
/// the mapping alive, not the table, so it may outlive later compactions); one found
/// in a memtable is an owned copy.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("fruit", "apple")?;
/// let value = db.get("fruit")?.unwrap();
/// assert_eq!(&*value, b"apple");
/// assert_eq!(value, b"apple");
/// assert_eq!(value.to_vec(), b"apple".to_vec());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Value(Repr);

#[derive(Clone)]
enum Repr {
    Mapped(quickcache_sstable::ValueRef),
    Owned(Vec<u8>),
}

impl Value {
    pub(crate) fn mapped(value: quickcache_sstable::ValueRef) -> Value {
        Value(Repr::Mapped(value))
    }

    pub(crate) fn owned(bytes: Vec<u8>) -> Value {
        Value(Repr::Owned(bytes))
    }

    /// The value's bytes.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// assert_eq!(db.get("k")?.unwrap().as_slice(), b"v");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Mapped(v) => v.as_slice(),
            Repr::Owned(v) => v,
        }
    }

    /// Whether the value is a view into a mapped table rather than a copy.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// assert!(!db.get("k")?.unwrap().is_mapped()); // still in the memtable
    /// db.flush()?;
    /// assert!(db.get("k")?.unwrap().is_mapped()); // now in a table
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Repr::Mapped(_))
    }

    /// The bytes as an owned vector (moved out when the value is already owned).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// assert_eq!(db.get("k")?.unwrap().into_vec(), b"v".to_vec());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Mapped(v) => v.as_slice().to_vec(),
            Repr::Owned(v) => v,
        }
    }
}

impl From<Value> for Vec<u8> {
    /// [`Value::into_vec`]: `let bytes: Vec<u8> = db.get(key)?.unwrap().into();`.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// let bytes: Vec<u8> = db.get("k")?.unwrap().into();
    /// assert_eq!(bytes, b"v");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from(value: Value) -> Vec<u8> {
        value.into_vec()
    }
}

impl Deref for Value {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Value {}

impl PartialEq<[u8]> for Value {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Value {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Value {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<&[u8]> for Value {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Value {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_slice().escape_ascii())
    }
}
