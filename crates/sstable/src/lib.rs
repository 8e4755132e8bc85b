//! Sorted, immutable, checksummed tables.
//!
//! Also home of the definitions every layer above shares: the internal key
//! ([`KeyRef`], [`InternalKey`], [`SeqNo`], [`ValueKind`]) and the [`Cursor`] protocol.
//!
//! # Example
//! ```
//! use quickcache_sstable::{KeyRef, SeqNo, ValueKind};
//!
//! let seq = SeqNo::new(7).unwrap();
//! let key = KeyRef::new(b"apple", seq, ValueKind::Value);
//! let mut encoded = Vec::new();
//! key.encode_into(&mut encoded);
//! assert_eq!(KeyRef::decode(&encoded), Some(key));
//! ```

#![forbid(unsafe_code)]

mod cursor;
mod error;
mod key;

pub use cursor::Cursor;
#[cfg(feature = "conformance")]
pub use cursor::conformance;
pub use error::{Error, Result};
pub use key::{InternalKey, KeyRef, SeqNo, TRAILER_LEN, ValueKind, compare_encoded};
