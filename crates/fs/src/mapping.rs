//! `Mapping`: a cheaply clonable, read-only view of a whole file's bytes.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Read-only bytes of a complete file: an mmap on real files, shared memory on the
/// simulated file system.
///
/// Clones share the same bytes, so a value handed out as a slice of a table can outlive
/// the table's reader. The bytes never change while a `Mapping` exists: only complete,
/// synced, never-again-modified files (tables) may be mapped.
#[derive(Clone)]
pub struct Mapping {
    bytes: Arc<Backing>,
}

/// What the bytes live in. A real file's map is a variant of its own, not one more
/// `dyn AsRef`, so that reaching the bytes (on every block a cursor steps into) is a
/// predictable branch and two loads rather than an indirect call.
enum Backing {
    Map(memmap2::Mmap),
    /// Bytes owned in memory (a table's decompressed block): one hop from the `Arc`
    /// to the bytes, where `Other` takes a call through a vtable.
    Owned(Box<[u8]>),
    Other(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Mapping {
    /// Wraps any owned byte source.
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        Self {
            bytes: Arc::new(Backing::Other(Box::new(bytes))),
        }
    }

    /// Takes ownership of `bytes`; reaching them costs what reaching a map does.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self {
            bytes: Arc::new(Backing::Owned(bytes.into_boxed_slice())),
        }
    }

    /// Wraps a memory map of a whole file.
    pub(crate) fn from_mmap(map: memmap2::Mmap) -> Self {
        Self {
            bytes: Arc::new(Backing::Map(map)),
        }
    }

    /// The mapped bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &*self.bytes {
            Backing::Map(map) => map,
            Backing::Owned(bytes) => bytes,
            Backing::Other(bytes) => (**bytes).as_ref(),
        }
    }
}

impl Deref for Mapping {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Mapping {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_bytes() {
        let m = Mapping::new(vec![1u8, 2, 3]);
        let c = m.clone();
        assert_eq!(&*c, &[1, 2, 3]);
        assert_eq!(m.as_ptr(), c.as_ptr());
        let v = Mapping::from_vec(vec![4u8, 5]);
        assert_eq!(&*v.clone(), &[4, 5]);
        assert_eq!(v.as_ptr(), v.clone().as_ptr());
    }
}
