//! The longer texts of `--help`: usage examples for each subcommand, and how keys
//! and values are typed and shown.

/// The escape rules, shared by every command that takes or prints keys and values.
macro_rules! keys_and_values {
    () => {
        "
Keys and values:
  Typed and shown as text, with escapes for bytes that are not printable:
    \\\\        a backslash
    \\t \\n \\r  a tab, newline, carriage return
    \\xNN      the byte NN (two hex digits): \\x00, \\xff
  Printable UTF-8 shows as itself; every other byte (control characters,
  invisible formatting characters, bytes that are not UTF-8) as \\xNN, so that
  any output can be pasted back as an argument. A backslash that begins none
  of these escapes is an ordinary character: 'back\\slash' is those 10 bytes.
  Quote arguments with single quotes so that the shell keeps the backslashes.
  --hex   hex both ways (6b6579 for key)
  --raw   no escapes either way: arguments as typed, output as stored
"
    };
}

/// `bench`'s.
pub(crate) const BENCH: &str = "Examples:
  quickcache bench                                # every workload, 1,000,000 keys
  quickcache bench --num 100000 --benchmarks fillrandom,readrandom
  quickcache bench --duration 10 --threads 4 --json > results.jsonl
  quickcache bench --db /tmp/b --benchmarks fillbatch   # keep the database
  quickcache bench --db /tmp/b --benchmarks readrandom  # read it again, no refill
  quickcache bench --db /tmp/b --force                  # refill it from scratch
";

/// `get`'s.
pub(crate) const GET: &str = concat!(
    "Examples:
  quickcache get --db ./data user:42
  export QUICKCACHE_DB=./data        # then --db may be left out
  quickcache get 'k\\x00'             # the key k followed by a zero byte
  quickcache get --hex 6b00          # the same key, in hex
  quickcache get --raw photo:1 > photo.jpg
  quickcache get user:42; [ $? -eq 3 ] && echo 'no such key'
",
    keys_and_values!()
);

/// `put`'s.
pub(crate) const PUT: &str = concat!(
    "Examples:
  quickcache put --db ./data --create greeting 'héllo wörld'
  quickcache put --sync user:42 '{\"name\":\"Ada\"}'  # durable when it returns
  quickcache put 'C:\\data' 'tab\\there'          # key C:\\data, value tab<TAB>here
  quickcache put --raw 'C:\\new' 'a\\tb'           # no escapes at all
  quickcache put --hex 6b00 00ff
",
    keys_and_values!()
);

/// `delete`'s.
pub(crate) const DELETE: &str = concat!(
    "Examples:
  quickcache delete --db ./data user:42
  quickcache delete --hex 6b00
",
    keys_and_values!()
);

/// `scan`'s.
pub(crate) const SCAN: &str = concat!(
    "Examples:
  quickcache scan --db ./data
  quickcache scan --prefix user: --limit 10
  quickcache scan --from a --to m --reverse   # keys from a up to m (excluded), last first
  quickcache scan --json | jq -r .value
",
    keys_and_values!()
);

/// `stats`'s.
pub(crate) const STATS: &str = "Examples:
  quickcache stats --db ./data
  quickcache stats --json | jq '.levels[] | {level, files, bytes, target_bytes}'
  quickcache stats --db ./data --svg tree.svg   # the picture as an image too
Each level's bar is drawn to scale with its target size marked (┆); L0's line gives
its table count against the compaction trigger, the slowdown and the stop.
";

/// `verify`'s.
pub(crate) const VERIFY: &str = "Examples:
  quickcache verify --db ./data        # exit code 4 if anything is damaged
  quickcache verify --json | jq .damaged
It takes no lock, so it also checks a database another process has open.
";

/// `repair`'s.
pub(crate) const REPAIR: &str = "Examples:
  quickcache repair --db ./data        # after an open failed with damage
  quickcache repair --db ./data --json | jq .lost
Keeps every intact table, salvages the readable blocks of damaged ones, turns the
WAL's readable records into tables, writes a new manifest, and moves every file it
does not use into ./data/lost/ (nothing is deleted). Prints what was lost: blocks
with the keys around them, WAL records, missing files. The database must be closed.
";

/// `compact`'s.
pub(crate) const COMPACT: &str = "Examples:
  quickcache compact --db ./data
  quickcache stats --db ./data        # afterwards: everything in the bottom level
";

/// `checkpoint`'s.
pub(crate) const CHECKPOINT: &str = "Examples:
  quickcache checkpoint --db ./data ./backup-2026-12-05
  quickcache checkpoint --db ./data /mnt/other-disk/backup --json
  quickcache get --db ./backup-2026-12-05 user:42   # the copy is a database
Tables are hard-linked when DEST is on the same file system (no space used until
compaction replaces them) and copied otherwise. DEST must not exist (exit code 2).
A crash during the command leaves no DEST, or a complete one. To restore, stop the
service and put the copy in place of the database directory.
";

/// `ingest`'s.
pub(crate) const INGEST: &str = "Examples:
  quickcache ingest --db ./data part-0001.sst part-0002.sst
  quickcache ingest --db ./data --keyspace events --move ./staging/*.sst --json
The files are tables written with quickcache-sstable's TableBuilder (add_plain:
sequence number 0, each key once, no range tombstones). All of them or none join the
database, also across a crash; their entries overwrite older values of the same keys.
Files whose keys overlap each other are refused (exit code 1, nothing ingested).
";

/// `dump-wal`'s.
pub(crate) const DUMP_WAL: &str = "Examples:
  quickcache dump-wal ./data/wal/000001.log
  quickcache dump-wal --hex ./data/wal/000001.log
";

/// `dump-sst`'s.
pub(crate) const DUMP_SST: &str = "Examples:
  quickcache dump-sst ./data/000003.sst
  quickcache dump-sst --hex ./data/000003.sst | less
";

/// `dump-manifest`'s.
pub(crate) const DUMP_MANIFEST: &str = "Examples:
  quickcache dump-manifest ./data/MANIFEST-000001
  quickcache dump-manifest \"./data/$(cat ./data/CURRENT)\"   # the live one
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_opens_with_examples_and_kv_commands_give_the_rules() {
        let all = [
            BENCH,
            GET,
            PUT,
            DELETE,
            SCAN,
            STATS,
            VERIFY,
            COMPACT,
            CHECKPOINT,
            INGEST,
            DUMP_WAL,
            DUMP_SST,
            DUMP_MANIFEST,
        ];
        assert!(
            all.iter()
                .all(|t| t.starts_with("Examples:\n  quickcache "))
        );
        for text in [GET, PUT, DELETE, SCAN] {
            assert!(text.contains("\nKeys and values:\n"), "{text}");
        }
    }
}
