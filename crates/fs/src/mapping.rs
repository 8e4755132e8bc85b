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
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
}

impl Mapping {
    /// Wraps any owned byte source.
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        Self {
            bytes: Arc::new(bytes),
        }
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Mapping {
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
    }
}
