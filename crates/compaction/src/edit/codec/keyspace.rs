//! The body of a create-keyspace field (tag 8): the keyspace's name and its stored
//! options (`docs/format/manifest.md`, "Keyspaces").

use quickcache_sstable::Compression;

use super::{DecodeError, Reader};
use crate::{KeyspaceDef, LEVELS, TreeOptions};

/// Requires: the name is 1 to 255 bytes (the creator checks it, the decoder too).
pub(super) fn encode_keyspace(b: &mut Vec<u8>, def: &KeyspaceDef) {
    let name = def.name.as_bytes();
    let name = name.get(..crate::MAX_KEYSPACE_NAME_LEN).unwrap_or(name);
    b.push(name.len() as u8);
    b.extend_from_slice(name);
    let o = &def.options;
    b.extend_from_slice(&o.memtable_size.to_le_bytes());
    b.extend_from_slice(&o.table_size.to_le_bytes());
    b.extend_from_slice(&o.block_size.to_le_bytes());
    b.extend_from_slice(&o.bloom_bits_per_key.to_le_bytes());
    b.extend_from_slice(&o.base_level_size.to_le_bytes());
    b.extend_from_slice(&o.level_multiplier.to_le_bytes());
    b.extend(o.compression.iter().map(|&c| c as u8));
}

pub(super) fn decode_keyspace(b: &mut Reader<'_>) -> Result<KeyspaceDef, DecodeError> {
    let len = usize::from(b.u8("keyspace name length")?);
    let at = b.at();
    let name = b.take(len, "keyspace name")?;
    let name = crate::check_keyspace_name(name)
        .map_err(|problem| b.bad(at, "keyspace name", problem))?
        .to_owned();
    let mut options = TreeOptions {
        memtable_size: b.u64("keyspace memtable size")?,
        table_size: b.u64("keyspace table size")?,
        block_size: b.u32("keyspace block size")?,
        bloom_bits_per_key: b.u32("keyspace bloom bits per key")?,
        base_level_size: b.u64("keyspace base level size")?,
        level_multiplier: b.u64("keyspace level multiplier")?,
        compression: [Compression::None; LEVELS],
    };
    for slot in &mut options.compression {
        let at = b.at();
        let byte = b.u8("keyspace compression")?;
        *slot = Compression::from_byte(byte)
            .ok_or_else(|| b.bad(at, "keyspace compression", "unknown"))?;
    }
    Ok(KeyspaceDef { name, options })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_COMPRESSION;

    fn body(compression: &[u8]) -> Vec<u8> {
        let def = KeyspaceDef {
            name: "log".to_owned(),
            options: TreeOptions {
                memtable_size: 1,
                table_size: 2,
                block_size: 3,
                bloom_bits_per_key: 4,
                base_level_size: 5,
                level_multiplier: 6,
                compression: DEFAULT_COMPRESSION,
            },
        };
        let mut b = Vec::new();
        encode_keyspace(&mut b, &def);
        let at = b.len() - LEVELS;
        b.truncate(at);
        b.extend_from_slice(compression);
        b
    }

    fn decode(bytes: &[u8]) -> Result<KeyspaceDef, DecodeError> {
        decode_keyspace(&mut Reader::new(bytes))
    }

    #[test]
    fn every_level_names_a_known_compression() {
        let def = decode(&body(&[3, 2, 1, 1, 2, 3, 3])).unwrap();
        assert_eq!(def.options.compression[0], Compression::Zstd);
        assert_eq!(def.options.compression[2], Compression::None);
        let at = body(&[]).len();
        for bad in [0u8, 4, 255] {
            let err = decode(&body(&[1, 1, 1, bad, 1, 1, 1])).unwrap_err();
            assert_eq!(
                (err.at, err.field, err.problem),
                (at + 3, "keyspace compression", "unknown")
            );
        }
        // The seven bytes are not optional.
        let err = decode(&body(&[1, 1, 1])).unwrap_err();
        assert_eq!((err.at, err.problem), (at + 3, "runs past the end"));
    }
}
