//! The corruption errors a block cursor's step reports, built out of line: the
//! step's checks are one branch each on the scan's path, their messages are not.

use super::BlockCursor;
use crate::origin::corruption;

impl BlockCursor {
    /// The error for an entry at `pos` sharing `shared` bytes that it cannot share, or
    /// overlapping the next restart point.
    #[cold]
    #[inline(never)]
    pub(super) fn misplaced(&self, pos: usize, shared: usize) -> crate::Error {
        let reason = if shared > self.key.len() || (pos == self.restart_at && shared != 0) {
            format!(
                "entry shares {shared} bytes with a {}-byte key",
                self.key.len()
            )
        } else {
            "restart point inside or before an entry".to_string()
        };
        corruption(&self.file, self.layout.id, pos as u64, reason)
    }

    /// The error for an entry at `pos` whose key is too short for a trailer or has
    /// an unknown kind.
    #[cold]
    #[inline(never)]
    pub(super) fn not_internal(&self, pos: usize) -> crate::Error {
        let reason = "entry key is not an internal key";
        corruption(&self.file, self.layout.id, pos as u64, reason)
    }
}
