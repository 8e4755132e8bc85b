//! Puts with a time to live in a transaction.

use std::time::Duration;

use super::Transaction;
use crate::Keyspace;

impl Transaction {
    /// Sets `key` to `value` when the transaction commits, expiring `ttl` after the
    /// commit (by [`Options::clock`](crate::Options::clock)), as
    /// [`crate::Db::put_with_ttl`] does. Until the commit the transaction reads its
    /// own write as a plain value; a later write of the key in the transaction
    /// replaces it, time to live included.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put_with_ttl("lock", "owner-1", Duration::from_secs(30));
    /// assert_eq!(tx.get("lock")?.unwrap(), b"owner-1");
    /// tx.commit()?;
    /// assert_eq!(db.get("lock")?.unwrap(), b"owner-1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with_ttl(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> &mut Self {
        self.put_expiring(None, key.as_ref(), value.as_ref(), ttl)
    }

    /// [`Transaction::put_with_ttl`] in `keyspace`.
    pub fn put_in_with_ttl(
        &mut self,
        keyspace: &Keyspace,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> &mut Self {
        self.put_expiring(Some(keyspace), key.as_ref(), value.as_ref(), ttl)
    }

    fn put_expiring(
        &mut self,
        keyspace: Option<&Keyspace>,
        key: &[u8],
        value: &[u8],
        ttl: Duration,
    ) -> &mut Self {
        let writes = self.writes_of(keyspace, key);
        writes.entries.insert(key.to_vec(), Some(value.to_vec()));
        writes.ttls.insert(key.to_vec(), ttl);
        self
    }
}
