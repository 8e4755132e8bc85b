//! [`KeyspaceOptions`]: the options a keyspace is created with, and their stored form
//! in the manifest ([`TreeOptions`]).

use quickcache_compaction::{LEVELS, SharedFilter, TreeOptions};

use crate::error::{Error, Result};
use crate::{Compression, Options};

/// The options of a keyspace, stored in the manifest when it is created.
///
/// Reopening a keyspace with [`Db::keyspace`](crate::Db::keyspace) uses the stored
/// options. Passing other options to [`Db::keyspace_with`](crate::Db::keyspace_with)
/// for an existing keyspace is **refused** ([`Error::KeyspaceOptionsConflict`]), so that what a keyspace runs with is always
/// what its creation recorded.
///
/// Reopen an existing keyspace with [`Db::keyspace`](crate::Db::keyspace), not with
/// options built from [`Options`]: a default that changes between releases (the base
/// level target went from 64 to 256 MiB) would then differ from the stored value and
/// the open would be refused.
///
/// # Examples
/// ```
/// use quickcache::{Db, KeyspaceOptions};
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// let options = KeyspaceOptions { bloom_bits_per_key: 0, ..KeyspaceOptions::from(db.options()) };
/// let log = db.keyspace_with("log", options)?;
/// log.put("1", "first")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceOptions {
    /// Bytes its memtable holds before it is frozen and flushed (the database's
    /// write-buffer budget, [`Options::memtable_size`], still bounds all keyspaces'
    /// memtables together).
    pub memtable_size: usize,
    /// Its tables are cut at this size.
    pub table_size: u64,
    /// Target size of a data block of its tables.
    pub block_size: usize,
    /// Bloom filter bits per key; 0 writes no filter.
    pub bloom_bits_per_key: usize,
    /// Target size of the level its L0 is compacted into.
    pub base_level_size: u64,
    /// Size ratio between adjacent levels.
    pub level_multiplier: u64,
    /// How the data blocks of its tables are compressed, per level (index 0 = L0), as
    /// [`Options::compression`] is for the default keyspace.
    ///
    /// ```
    /// use quickcache::{Compression, Db, KeyspaceOptions};
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// // Documents compress well: zstd from L2 down.
    /// let mut options = KeyspaceOptions::from(db.options());
    /// options.compression[2..].fill(Compression::Zstd);
    /// let docs = db.keyspace_with("docs", options)?;
    /// docs.put("1", r#"{"title":"first"}"#)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub compression: [Compression; LEVELS],
    /// Its compaction filter, as [`Options::compaction_filter`] is for the default
    /// keyspace. Not stored: it applies while this process runs, from the
    /// [`Db::keyspace_with`](crate::Db::keyspace_with) that gives it on (opening the
    /// keyspace with other filter options is not a conflict; the last one given is
    /// used, and [`Db::keyspace`](crate::Db::keyspace) leaves it as it is).
    ///
    /// ```
    /// use quickcache::{Db, FilterDecision, FilterEntry, KeyspaceOptions, SharedFilter};
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// // Compaction turns every value of "counters" into "0".
    /// let reset = |_: &FilterEntry<'_>| FilterDecision::ChangeValue(b"0".to_vec());
    /// let options = KeyspaceOptions {
    ///     compaction_filter: Some(SharedFilter::new(reset)),
    ///     ..KeyspaceOptions::from(db.options())
    /// };
    /// let counters = db.keyspace_with("counters", options)?;
    /// counters.put("hits", "17")?;
    /// counters.compact_range(..)?;
    /// assert_eq!(counters.get("hits")?.unwrap(), b"0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub compaction_filter: Option<SharedFilter>,
}

impl From<&Options> for KeyspaceOptions {
    /// The database's own settings for each knob.
    fn from(o: &Options) -> Self {
        KeyspaceOptions {
            memtable_size: o.memtable_size,
            table_size: o.table_size,
            block_size: o.block_size,
            bloom_bits_per_key: o.bloom_bits_per_key,
            base_level_size: o.base_level_size,
            level_multiplier: o.level_multiplier,
            compression: o.compression,
            compaction_filter: None,
        }
    }
}

impl KeyspaceOptions {
    pub(crate) fn stored(&self) -> Result<TreeOptions> {
        let invalid = |reason: &str| Error::InvalidOptions {
            reason: reason.to_owned(),
        };
        let u32_of = |n: usize, what: &str| {
            u32::try_from(n).map_err(|_| invalid(&format!("keyspace {what} is over 4 GiB")))
        };
        let checks = [
            (self.memtable_size > 0, "keyspace memtable_size is 0"),
            (self.table_size > 0, "keyspace table_size is 0"),
            (self.block_size > 0, "keyspace block_size is 0"),
            (self.base_level_size > 0, "keyspace base_level_size is 0"),
            (
                self.level_multiplier >= 2,
                "keyspace level_multiplier is below 2",
            ),
        ];
        if let Some((_, reason)) = checks.iter().find(|(ok, _)| !ok) {
            return Err(invalid(reason));
        }
        Ok(TreeOptions {
            memtable_size: self.memtable_size as u64,
            table_size: self.table_size,
            block_size: u32_of(self.block_size, "block_size")?,
            bloom_bits_per_key: u32_of(self.bloom_bits_per_key, "bloom_bits_per_key")?,
            base_level_size: self.base_level_size,
            level_multiplier: self.level_multiplier,
            compression: self.compression,
        })
    }

    pub(crate) fn of_stored(t: &TreeOptions) -> KeyspaceOptions {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        KeyspaceOptions {
            memtable_size: size(t.memtable_size),
            table_size: t.table_size,
            block_size: size(u64::from(t.block_size)),
            bloom_bits_per_key: size(u64::from(t.bloom_bits_per_key)),
            base_level_size: t.base_level_size,
            level_multiplier: t.level_multiplier,
            compression: t.compression,
            compaction_filter: None,
        }
    }
}
