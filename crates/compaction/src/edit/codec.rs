//! The binary encoding of a [`VersionEdit`], one per manifest record.
//!
//! Specified in `docs/format/manifest.md`. All integers little-endian:
//!
//! ```text
//! +----------------+---------+---------+-----+
//! | format version | field 0 | field 1 | ... |
//! | u8 = 5         |         |         |     |
//! +----------------+---------+---------+-----+
//!
//! field = | tag u8 | body length u32 | body (length bytes) |
//!
//! tag 1  log number          body: u64                        (of the edit's keyspace)
//! tag 2  next file number    body: u64
//! tag 3  last sequence       body: u64
//! tag 4  compaction pointer  body: level u8 | encoded internal key (rest of body)
//! tag 5  remove table        body: level u8 | table id u64
//! tag 6  add table           body: level u8 | table id u64 | size u64 | min seqno u64 |
//!                                  max seqno u64 | entries u64 | tombstones u64 |
//!                                  smallest key length u32 | smallest key |
//!                                  largest key (rest of body)
//! version 2 on:
//! tag 7  keyspace            body: id u32: the keyspace of tags 1, 4, 5, 6, 8, 9
//! tag 8  create keyspace     body: name length u8 | name | memtable size u64 |
//!                                  table size u64 | block size u32 |
//!                                  bloom bits per key u32 | base level size u64 |
//!                                  level multiplier u64 | compression u8 × 7
//!                                  (one per level, L0 first: 1 none, 2 lz4, 3 zstd)
//! tag 9  drop keyspace       body: empty
//! tag 10 last keyspace id    body: id u32
//! version 3 on (version 4 adds no tag):
//! tag 11 WAL segment         body: u64: a WAL segment durably created; every segment
//!                                  from the oldest live one up to the largest recorded
//!                                  must exist (a missing one is lost data)
//! tag 12 add ingested table  body: global seqno u64 | the body of tag 6
//! version 5 on:
//! tag 13 ingest seqno        body: u64: the global seqno of the newest ingest applied
//! ```
//!
//! Tag 0 is reserved. Version 1 has tags 1 to 6 only, all of the default keyspace
//! (id 0); an edit without tag 7 is of the default keyspace in version 2 too. Keys are
//! encoded internal keys (user key, then the trailer `seqno << 8 | kind` as u64).
//! Decoding checks every length against what remains and never panics; the record's
//! checksum is the WAL frame's, outside this encoding.

use quickcache_sstable::{KeyspaceId, SeqNo};
use snafu::Snafu;

use crate::{Level, TableId, TableInfo, VersionEdit};
use keyspace::{decode_keyspace, encode_keyspace};
use reader::Reader;

mod keyspace;
mod reader;

/// The edit encoding version this code writes: the database's format version
/// (`docs/format/manifest.md`, "Versions"). Version 3 adds tags 11 and 12, and
/// marks a database whose tables and WAL may hold range deletes and expiring values
/// (table and WAL format version 3), so that an older engine refuses it at open.
/// Version 4 changes no edit byte: it marks a database whose WAL segments (version
/// 4) may hold sync marks. Version 5 adds tag 13, and marks a database whose WAL
/// segments (version 5) may log ingests.
pub const EDIT_FORMAT: u8 = 5;
/// The oldest edit encoding version this code reads.
pub const OLDEST_EDIT_FORMAT: u8 = 1;

/// Field tags. Persisted: values are fixed, 0 is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Tag {
    LogNumber = 1,
    NextFile = 2,
    LastSeqno = 3,
    CompactionPointer = 4,
    RemoveTable = 5,
    AddTable = 6,
    Keyspace = 7,
    CreateKeyspace = 8,
    DropKeyspace = 9,
    LastKeyspace = 10,
    WalSegment = 11,
    AddIngestedTable = 12,
    IngestSeqno = 13,
}

impl Tag {
    /// The tag of byte `b` in an edit of encoding `version`.
    fn from_u8(b: u8, version: u8) -> Option<Tag> {
        Some(match b {
            1 => Tag::LogNumber,
            2 => Tag::NextFile,
            3 => Tag::LastSeqno,
            4 => Tag::CompactionPointer,
            5 => Tag::RemoveTable,
            6 => Tag::AddTable,
            7..=10 if version < 2 => return None,
            11 if version < 3 => return None,
            7 => Tag::Keyspace,
            8 => Tag::CreateKeyspace,
            9 => Tag::DropKeyspace,
            10 => Tag::LastKeyspace,
            11 => Tag::WalSegment,
            12 if version < 3 => return None,
            12 => Tag::AddIngestedTable,
            13 if version < 5 => return None,
            13 => Tag::IngestSeqno,
            _ => return None,
        })
    }
}

/// Why an edit failed to decode: the field, where it starts, what was wrong.
#[derive(Debug, Snafu, Clone, PartialEq, Eq)]
#[snafu(display("{field} at byte {at}: {problem}"))]
pub struct DecodeError {
    /// Byte position in the edit where the field starts.
    pub at: usize,
    /// The field being read.
    pub field: &'static str,
    /// What was wrong with it.
    pub problem: &'static str,
}

/// Appends the encoding of `edit` to `out`.
pub(crate) fn encode(edit: &VersionEdit, out: &mut Vec<u8>) {
    out.push(EDIT_FORMAT);
    if !edit.keyspace.is_default() {
        field(out, Tag::Keyspace, |b| {
            b.extend_from_slice(&edit.keyspace.0.to_le_bytes());
        });
    }
    if let Some(def) = &edit.create {
        field(out, Tag::CreateKeyspace, |b| encode_keyspace(b, def));
    }
    if let Some(id) = edit.last_keyspace {
        field(out, Tag::LastKeyspace, |b| {
            b.extend_from_slice(&id.0.to_le_bytes())
        });
    }
    let numbers = [
        (Tag::LogNumber, edit.log_number),
        (Tag::NextFile, edit.next_file),
        (Tag::LastSeqno, edit.last_seqno.map(SeqNo::get)),
        (Tag::WalSegment, edit.wal_segment),
        (Tag::IngestSeqno, edit.ingest_seqno.map(SeqNo::get)),
    ];
    for (tag, value) in numbers {
        if let Some(v) = value {
            field(out, tag, |b| b.extend_from_slice(&v.to_le_bytes()));
        }
    }
    for (level, key) in &edit.pointers {
        field(out, Tag::CompactionPointer, |b| {
            b.push(level.index() as u8);
            key.as_ref().encode_into(b);
        });
    }
    for (level, id) in &edit.removed {
        field(out, Tag::RemoveTable, |b| {
            b.push(level.index() as u8);
            b.extend_from_slice(&id.0.to_le_bytes());
        });
    }
    for (level, info) in &edit.added {
        match info.global_seqno {
            None => field(out, Tag::AddTable, |b| encode_table(b, *level, info)),
            Some(seqno) => field(out, Tag::AddIngestedTable, |b| {
                b.extend_from_slice(&seqno.get().to_le_bytes());
                encode_table(b, *level, info);
            }),
        }
    }
    if edit.drop {
        field(out, Tag::DropKeyspace, |_| {});
    }
}

fn field(out: &mut Vec<u8>, tag: Tag, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(tag as u8);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    // Bodies are far below 4 GiB: keys are bounded by the table format's u32 lengths.
    let len = u32::try_from(out.len() - len_at - 4).unwrap_or(u32::MAX);
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

fn encode_table(b: &mut Vec<u8>, level: Level, t: &TableInfo) {
    b.push(level.index() as u8);
    let numbers = [
        t.id.0,
        t.size,
        t.min_seqno.get(),
        t.max_seqno.get(),
        t.entries,
        t.tombstones,
    ];
    for n in numbers {
        b.extend_from_slice(&n.to_le_bytes());
    }
    let smallest = t.smallest.as_ref();
    let len = u32::try_from(smallest.encoded_len()).unwrap_or(u32::MAX);
    b.extend_from_slice(&len.to_le_bytes());
    smallest.encode_into(b);
    t.largest.as_ref().encode_into(b);
}

/// Decodes one edit, of encoding version 1 to 5.
pub(crate) fn decode(buf: &[u8]) -> Result<VersionEdit, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u8("format version")?;
    if !(OLDEST_EDIT_FORMAT..=EDIT_FORMAT).contains(&version) {
        return Err(r.bad(0, "format version", "unsupported"));
    }
    let mut edit = VersionEdit::new();
    let mut seen = Seen::default();
    while r.at() < buf.len() {
        let start = r.at();
        let tag = r.u8("field tag")?;
        let tag = Tag::from_u8(tag, version).ok_or_else(|| r.bad(start, "field tag", "unknown"))?;
        let len = r.u32("field length")? as usize;
        let body_at = r.at();
        let body = r.take(len, "field body")?;
        seen.note(tag, start)?;
        let mut b = Reader::new(body);
        decode_field(&mut edit, tag, &mut b).map_err(|e| DecodeError {
            at: body_at + e.at,
            ..e
        })?;
    }
    seen.check(&edit)?;
    Ok(edit)
}

/// Where the keyspace fields that may appear once were found, for the checks that
/// need the whole edit (fields come in any order).
#[derive(Debug, Default)]
struct Seen {
    keyspace: Option<usize>,
    create: Option<usize>,
    drop: Option<usize>,
    last_keyspace: Option<usize>,
}

impl Seen {
    fn note(&mut self, tag: Tag, at: usize) -> Result<(), DecodeError> {
        let (slot, field) = match tag {
            Tag::Keyspace => (&mut self.keyspace, "keyspace"),
            Tag::CreateKeyspace => (&mut self.create, "create keyspace"),
            Tag::DropKeyspace => (&mut self.drop, "drop keyspace"),
            Tag::LastKeyspace => (&mut self.last_keyspace, "last keyspace id"),
            _ => return Ok(()),
        };
        if slot.is_some() {
            return Err(DecodeError {
                at,
                field,
                problem: "appears twice",
            });
        }
        *slot = Some(at);
        Ok(())
    }

    /// A create or drop names a keyspace other than the default, not both at once,
    /// and a dropped keyspace gains no tables.
    fn check(&self, edit: &VersionEdit) -> Result<(), DecodeError> {
        let bad = |at: usize, field, problem| Err(DecodeError { at, field, problem });
        let default = edit.keyspace.is_default();
        match (self.create, self.drop) {
            (Some(at), _) if default => bad(at, "create keyspace", "names the default keyspace"),
            (_, Some(at)) if default => bad(at, "drop keyspace", "names the default keyspace"),
            (Some(_), Some(at)) => bad(at, "drop keyspace", "in the edit that creates it"),
            (_, Some(at)) if !edit.added.is_empty() => {
                bad(at, "drop keyspace", "in an edit that adds tables")
            }
            _ => Ok(()),
        }
    }
}

fn decode_field(edit: &mut VersionEdit, tag: Tag, b: &mut Reader<'_>) -> Result<(), DecodeError> {
    match tag {
        Tag::LogNumber => edit.log_number = Some(b.u64("log number")?),
        Tag::NextFile => edit.next_file = Some(b.u64("next file number")?),
        Tag::LastSeqno => edit.last_seqno = Some(b.seqno("last sequence")?),
        Tag::CompactionPointer => {
            let level = b.level("compaction pointer level")?;
            let key = b.key_rest("compaction pointer key")?;
            edit.pointers.push((level, key));
        }
        Tag::RemoveTable => {
            let level = b.level("removed table level")?;
            edit.removed
                .push((level, TableId(b.u64("removed table id")?)));
        }
        Tag::AddTable => {
            let level = b.level("added table level")?;
            edit.added.push((level, decode_table(b)?));
        }
        Tag::AddIngestedTable => {
            let seqno = b.seqno("ingested table global seqno")?;
            let level = b.level("added table level")?;
            let info = TableInfo {
                global_seqno: Some(seqno),
                ..decode_table(b)?
            };
            edit.added.push((level, info));
        }
        Tag::Keyspace => edit.keyspace = KeyspaceId(b.u32("keyspace")?),
        Tag::CreateKeyspace => edit.create = Some(decode_keyspace(b)?),
        Tag::DropKeyspace => edit.drop = true,
        Tag::LastKeyspace => edit.last_keyspace = Some(KeyspaceId(b.u32("last keyspace id")?)),
        Tag::WalSegment => edit.wal_segment = Some(b.u64("WAL segment")?),
        Tag::IngestSeqno => edit.ingest_seqno = Some(b.seqno("ingest seqno")?),
    }
    b.finished()
}

fn decode_table(b: &mut Reader<'_>) -> Result<TableInfo, DecodeError> {
    let id = TableId(b.u64("table id")?);
    let size = b.u64("table size")?;
    let min_seqno = b.seqno("table min seqno")?;
    let max_seqno = b.seqno("table max seqno")?;
    let entries = b.u64("table entry count")?;
    let tombstones = b.u64("table tombstone count")?;
    let len = b.u32("smallest key length")? as usize;
    let smallest = b.key(len, "smallest key")?;
    let largest = b.key_rest("largest key")?;
    Ok(TableInfo {
        id,
        size,
        smallest,
        largest,
        min_seqno,
        max_seqno,
        entries,
        tombstones,
        global_seqno: None,
    })
}
