//! Sorted, immutable, checksummed tables: block-based, with a bloom filter and an mmap
//! reader. Usable on its own, with nothing of quickcache but the file-system layer.
//!
//! Also home of the definitions every layer above shares: the internal key
//! ([`KeyRef`], [`InternalKey`], [`SeqNo`], [`ValueKind`]) and the [`Cursor`] protocol.
//!
//! The format is specified in `docs/format/sstable.md`; the diagram is repeated in the
//! builder's documentation ([`TableBuilder`]).
//!
//! # Example: a plain key → value table, with this crate alone
//! ```
//! use quickcache_sstable::{Table, TableBuilder, TableOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("fruit.sst");
//! let mut builder = TableBuilder::create(&path, TableOptions::default())?;
//! builder.add_plain(b"apple", b"red")?; // keys in ascending order
//! builder.add_plain(b"banana", b"yellow")?;
//! let meta = builder.finish()?;
//! assert_eq!(meta.properties.entry_count, 2);
//!
//! let table = Table::open_file(&path)?;
//! assert_eq!(table.get_plain(b"banana")?.as_deref(), Some(&b"yellow"[..]));
//! assert_eq!(table.get_plain(b"cherry")?, None);
//! let keys: Vec<Vec<u8>> = table.iter_plain().map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
//! assert_eq!(keys, [b"apple".to_vec(), b"banana".to_vec()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: internal keys, snapshots and the cursor
//! ```
//! use quickcache_sstable::fs::RealFs;
//! use quickcache_sstable::{Cursor, KeyRef, SeqNo, Table, TableBuilder, TableOptions, ValueKind};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("000001.sst");
//! let fs = RealFs::new();
//! let seq = |n| SeqNo::new(n).unwrap();
//! let mut builder = TableBuilder::new(&fs, &path, TableOptions::default())?;
//! // Newer versions of a key come first.
//! builder.add(KeyRef::new(b"k", seq(9), ValueKind::Tombstone), b"")?;
//! builder.add(KeyRef::new(b"k", seq(4), ValueKind::Value), b"old")?;
//! builder.finish()?;
//!
//! let table = Table::open(&fs, &path)?;
//! assert!(table.get(b"k", SeqNo::MAX)?.unwrap().is_tombstone());
//! assert_eq!(&*table.get(b"k", seq(8))?.unwrap().value, b"old");
//! assert_eq!(table.get(b"k", seq(3))?, None);
//!
//! let mut cursor = table.cursor();
//! cursor.seek_to_last()?;
//! assert_eq!(cursor.key(), Some(KeyRef::new(b"k", seq(4), ValueKind::Value)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod block;
mod bloom;
mod checksum;
mod compare;
mod compression;
mod cursor;
mod error;
mod expiry;
mod footer;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod handle;
mod index;
mod key;
mod keyspace;
mod origin;
mod properties;
mod range_del;
mod table;
mod value;
mod window;
pub mod wire;
mod wtree;

pub use compare::cmp_bytes;
pub use compression::{Compression, MAX_RAW_LEN, UnknownCompression, ZSTD_LEVEL};
pub use cursor::Cursor;
#[cfg(any(test, feature = "conformance"))]
pub use cursor::conformance;
pub use error::{Error, Result};
pub use expiry::{EXPIRY_LEN, Timestamp, encode_expiring, split_expiring};
pub use footer::{FORMAT_VERSION, OLDEST_READABLE_VERSION};
pub use key::{InternalKey, KeyRef, SeqNo, TRAILER_LEN, ValueKind, compare_encoded};
pub use keyspace::KeyspaceId;
pub use properties::Properties;
pub use range_del::{Fragment, FragmentedRangeTombstones, RangeTombstone};
pub use table::Table;
pub use table::budget::{DEFAULT_BLOCK_CACHE, SummaryBudget};
pub use table::builder::{TableBuilder, TableMeta, TableOptions};
pub use table::cache::BlockCache;
pub use table::cursor::TableCursor;
pub use table::iter::{Iter, PlainIter};
pub use table::salvage::{Salvage, SkippedRange, salvage};
pub use value::{Entry, ValueRef};

/// The file-system layer tables are read and written through (`quickcache-fs`),
/// re-exported so that a user of this crate alone needs no second dependency.
pub use quickcache_fs as fs;
