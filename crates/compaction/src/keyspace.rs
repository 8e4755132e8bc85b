//! What the manifest records about a keyspace: its name and the options stored with
//! it (`docs/format/manifest.md`, "Keyspaces").

/// The longest keyspace name, in bytes: the manifest stores the length in one byte.
pub const MAX_KEYSPACE_NAME_LEN: usize = 255;

/// The name of the default keyspace, id 0. It is never recorded in the manifest.
pub const DEFAULT_KEYSPACE_NAME: &str = "default";

/// The options of a keyspace that the manifest stores with it, so that reopening it
/// without options restores them. All are tunables: none changes how data already
/// written is read (each table records its own block size and filter), so other
/// values may replace them on a later open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeOptions {
    /// Bytes a memtable of the keyspace holds before it is flushed.
    pub memtable_size: u64,
    /// Tables written by compaction are cut at this size.
    pub table_size: u64,
    /// Target size of a data block.
    pub block_size: u32,
    /// Bloom filter bits per key; 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// Target size of the level L0 is compacted into.
    pub base_level_size: u64,
    /// Size ratio between adjacent levels.
    pub level_multiplier: u64,
    /// How the data blocks of the tables written to each level are compressed (index
    /// 0 = L0). Each block records its own compression, so any value reads any table.
    pub compression: [quickcache_sstable::Compression; crate::LEVELS],
}

/// A keyspace as the manifest records its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceDef {
    /// The user's name for it: 1 to [`MAX_KEYSPACE_NAME_LEN`] bytes of UTF-8. Stored in
    /// the manifest only, never used as a path.
    pub name: String,
    /// The options stored with it.
    pub options: TreeOptions,
}

/// Why a keyspace name is refused.
///
/// # Examples
/// ```
/// use quickcache_compaction::check_keyspace_name;
/// assert!(check_keyspace_name(b"log").is_ok());
/// assert!(check_keyspace_name(b"").is_err());
/// assert!(check_keyspace_name(&[b'x'; 256]).is_err());
/// assert!(check_keyspace_name(&[0xff]).is_err());
/// ```
pub fn check_keyspace_name(name: &[u8]) -> Result<&str, &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > MAX_KEYSPACE_NAME_LEN {
        return Err("is longer than 255 bytes");
    }
    std::str::from_utf8(name).map_err(|_| "is not UTF-8")
}
