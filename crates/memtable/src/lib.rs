//! The memtable: a lock-free sorted write buffer, the write batch and its encoding,
//! and the sequence-number visibility that makes a batch appear all at once.
//!
//! Every write lands here after the WAL, and every read looks here first.
//!
//! - [`Memtable`]: concurrent inserts and reads through `&self`, entries keyed by
//!   internal key (user key, seqno newest first, kind), point lookups at a snapshot
//!   ([`Memtable::get`] → [`Lookup`]), cursors ([`MemtableCursor`], the shared
//!   [`quickcache_sstable::Cursor`] protocol), memory accounting; [`FrozenMemtable`]
//!   is the read-only form a flush consumes.
//! - [`WriteBatch`]: puts and deletes, kept in the encoding that is the WAL payload
//!   (`docs/format/write_batch.md`).
//! - [`Visibility`]: reserves sequence numbers and publishes them in order, so a reader
//!   sees all of a batch or none of it (the argument is in [`visibility`]).
//!
//! # Example
//!
//! The write path and a read at a snapshot:
//!
//! ```
//! use quickcache_memtable::{Lookup, Memtable, Visibility, WriteBatch};
//! use quickcache_sstable::{Cursor, SeqNo};
//!
//! let memtable = Memtable::new();
//! let visibility = Visibility::new(SeqNo::ZERO);
//!
//! let mut batch = WriteBatch::new();
//! batch.put(b"apple", b"red")?;
//! batch.put(b"pear", b"green")?;
//! let reservation = visibility.reserve(batch.count())?; // before the WAL append
//! batch.set_base_seqno(reservation.first())?;
//! // ... append batch.encoded() to the WAL ...
//! let before = visibility.visible();
//! memtable.apply(&batch)?;
//! reservation.publish();
//!
//! assert!(memtable.get(b"apple", before).is_none()); // an older snapshot
//! let now = visibility.visible();
//! match memtable.get(b"apple", now) {
//!     Some(Lookup::Value(v)) => assert_eq!(v.value(), b"red"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! let mut cursor = memtable.cursor();
//! cursor.seek_to_first()?;
//! assert_eq!(cursor.key().map(|k| k.user_key), Some(&b"apple"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod arena;
mod batch;
mod cursor;
mod error;
mod filter;
mod frozen;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod key;
mod memtable;
mod range_dels;
mod skiplist;
mod sync;
pub mod visibility;

#[cfg(test)]
#[cfg(quickcache_loom)]
mod model_check;

pub use batch::{BatchEntry, BatchFormat, BatchIter, BatchKind, WriteBatch};
pub use cursor::{MemtableCursor, SharedCursor};
pub use error::{Error, Result};
pub use frozen::FrozenMemtable;
pub use memtable::{DEFAULT_CAPACITY, ENTRY_OVERHEAD, Lookup, Memtable, ValueRef};
pub use range_dels::HeldRangeTombstones;
pub use visibility::{Reservation, Visibility};
