//! Puts with a time to live in a keyspace.

use std::time::Duration;

use super::Keyspace;
use crate::WriteOptions;
use crate::error::Result;

impl Keyspace {
    /// Sets `key` to `value` until `ttl` has passed (by
    /// [`Options::clock`](crate::Options::clock)), as [`crate::Db::put_with_ttl`]
    /// does in the default keyspace: from then on `key` reads as absent.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let sessions = db.keyspace("sessions")?;
    /// sessions.put_with_ttl("42", "token", Duration::from_secs(3600))?;
    /// assert!(sessions.contains_key("42")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<()> {
        let options = WriteOptions {
            ttl: Some(ttl),
            ..WriteOptions::default()
        };
        self.put_with(key, value, &options)
    }

    /// The put of [`Keyspace::put_with`] when `options` carry a time to live.
    pub(super) fn put_expiring(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: Duration,
        options: &WriteOptions,
    ) -> Result<()> {
        let (id, expires_at) = (self.state.id, self.inner.options.clock.now().after(ttl));
        self.write_one(|b| b.put_expiring_in(id, key, value, expires_at), options)
    }
}
