//! `Workload`: the db_bench-style workloads, their names and what each needs.

use std::fmt;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Workload {
    /// `num` puts of keys in ascending order, into an empty store.
    FillSeq,
    /// `num` puts of uniformly random keys (with repeats), into an empty store.
    FillRandom,
    /// `num` keys in ascending order, written in atomic batches of 1000, into an empty
    /// store. Leaves every key present for the workloads after it.
    FillBatch,
    /// `num` puts of random existing keys.
    Overwrite,
    /// `num` gets of random existing keys.
    ReadRandom,
    /// `num` gets of keys that are not in the store.
    ReadMissing,
    /// `num` seeks to a random key, each followed by 10 nexts.
    SeekRandom,
    /// `num / 10` seeks to a random key, each followed by 100 nexts.
    SeekRandom100,
    /// One forward scan over up to `num` entries.
    ReadSeq,
    /// One backward scan over up to `num` entries.
    ReadReverse,
    /// `readseq` through the engine's borrowing steps ([`Engine::scan_borrowed`]:
    /// quickcache's `next_ref`), beside `readseq`'s ordinary `Iterator`. Not run by
    /// default.
    ///
    /// [`Engine::scan_borrowed`]: super::Engine::scan_borrowed
    ReadSeqRef,
    /// `readreverse` through the borrowing steps. Not run by default.
    ReadReverseRef,
    /// `seekrandom` through the borrowing steps. Not run by default.
    SeekRandomRef,
    /// `seekrandom100` through the borrowing steps. Not run by default.
    SeekRandom100Ref,
    /// `num` deletes of random keys.
    DeleteRandom,
    /// `num / 1000` synced puts from one thread, into an empty store.
    FillSync,
    /// `num / 1000` synced puts from four threads, into an empty store.
    FillSync4,
    /// `num` random gets by the reader threads while one more thread overwrites
    /// random keys as fast as it can.
    ReadWhileWriting,
    /// `num` puts of keys in ascending order, round-robin over 16 keyspaces, into an
    /// empty store. Only engines with keyspaces; not run by default.
    FillKeyspaces,
    /// `num` keys in atomic batches of 1000, each batch spread over 16 keyspaces, into
    /// an empty store: compare with `fillbatch`, the same batches in one keyspace.
    /// Only engines with keyspaces; not run by default.
    BatchKeyspaces,
    /// `num` transactions from four threads, each incrementing one of 1,000 hot
    /// counters (read then write, retried on conflict). Only engines with optimistic
    /// transactions; not run by default. The note gives the abort rate.
    TxnIncrement,
    /// `num` transactions from four threads, each moving an amount between two of
    /// 100,000 accounts (two reads, two writes, retried on conflict). Only engines
    /// with optimistic transactions; not run by default.
    TxnTransfer,
    /// The keys `0..num` in a scrambled order, through the engine's bulk loader
    /// (sort, write tables, ingest them: no WAL, no memtable), into an empty store:
    /// compare with `fillbatch`. Only engines with a bulk loader; not run by default.
    BulkLoad,
}

impl Workload {
    /// Every workload, in the order `bench` runs them by default (each leaves the
    /// store in the state the next expects).
    pub const ALL: [Workload; 14] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::FillBatch,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::ReadMissing,
        Workload::SeekRandom,
        Workload::SeekRandom100,
        Workload::ReadSeq,
        Workload::ReadReverse,
        Workload::ReadWhileWriting,
        Workload::DeleteRandom,
        Workload::FillSync,
        Workload::FillSync4,
    ];

    /// Workloads that only some engines can run (keyspaces): named with
    /// `--benchmarks`, never run by default.
    pub const EXTRA: [Workload; 9] = [
        Workload::FillKeyspaces,
        Workload::BatchKeyspaces,
        Workload::TxnIncrement,
        Workload::TxnTransfer,
        Workload::BulkLoad,
        Workload::ReadSeqRef,
        Workload::ReadReverseRef,
        Workload::SeekRandomRef,
        Workload::SeekRandom100Ref,
    ];

    /// The workload's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::FillBatch => "fillbatch",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::ReadMissing => "readmissing",
            Workload::SeekRandom => "seekrandom",
            Workload::SeekRandom100 => "seekrandom100",
            Workload::ReadSeq => "readseq",
            Workload::ReadReverse => "readreverse",
            Workload::ReadSeqRef => "readseq_ref",
            Workload::ReadReverseRef => "readreverse_ref",
            Workload::SeekRandomRef => "seekrandom_ref",
            Workload::SeekRandom100Ref => "seekrandom100_ref",
            Workload::DeleteRandom => "deleterandom",
            Workload::FillSync => "fillsync",
            Workload::FillSync4 => "fillsync4",
            Workload::ReadWhileWriting => "readwhilewriting",
            Workload::FillKeyspaces => "fill16keyspaces",
            Workload::BatchKeyspaces => "batch16keyspaces",
            Workload::TxnIncrement => "txn_increment",
            Workload::TxnTransfer => "txn_transfer",
            Workload::BulkLoad => "bulkload",
        }
    }

    /// The workload called `name`.
    ///
    /// # Examples
    /// ```
    /// use quickcache_cli::bench::Workload;
    /// assert_eq!(Workload::parse("readseq"), Some(Workload::ReadSeq));
    /// assert_eq!(Workload::parse("nope"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Workload> {
        (Workload::ALL.into_iter().chain(Workload::EXTRA)).find(|w| w.name() == name)
    }

    /// Parses a comma-separated list; the error names the unknown workload.
    ///
    /// # Errors
    /// The first name that is not a workload.
    pub fn parse_list(list: &str) -> Result<Vec<Workload>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| Workload::parse(name).ok_or_else(|| name.to_string()))
            .collect()
    }

    /// Whether the workload starts from an empty store.
    pub fn starts_empty(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::FillBatch
                | Workload::FillSync
                | Workload::FillSync4
                | Workload::FillKeyspaces
                | Workload::BatchKeyspaces
                | Workload::TxnIncrement
                | Workload::TxnTransfer
                | Workload::BulkLoad
        )
    }

    /// Whether the workload scans through the engine's borrowing steps
    /// ([`super::Engine::scan_borrowed`]) rather than its ordinary iterator.
    pub fn borrows(self) -> bool {
        matches!(
            self,
            Workload::ReadSeqRef
                | Workload::ReadReverseRef
                | Workload::SeekRandomRef
                | Workload::SeekRandom100Ref
        )
    }

    /// Entries a seek workload visits per operation (the seek and its nexts); `None`
    /// for the others.
    pub fn seek_entries(self) -> Option<u64> {
        match self {
            Workload::SeekRandom | Workload::SeekRandomRef => Some(11),
            Workload::SeekRandom100 | Workload::SeekRandom100Ref => Some(101),
            _ => None,
        }
    }

    /// Whether the workload runs transactions (and reports an abort rate).
    pub fn is_transactional(self) -> bool {
        matches!(self, Workload::TxnIncrement | Workload::TxnTransfer)
    }

    /// Whether the workload leaves the keys `0..num` in the default keyspace, as the
    /// workloads that need data expect.
    pub fn leaves_data(self) -> bool {
        matches!(
            self,
            Workload::FillSeq | Workload::FillRandom | Workload::FillBatch | Workload::BulkLoad
        )
    }

    /// Whether the workload needs the keys `0..num` to be present.
    pub fn needs_data(self) -> bool {
        !self.starts_empty()
    }

    /// The synced writes' share of `num`, as db_bench sizes fillsync.
    pub fn sync_ops(num: u64) -> u64 {
        (num / 1000).max(10)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL.into_iter().chain(Workload::EXTRA) {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
    }

    #[test]
    fn lists_parse_and_name_the_unknown() {
        assert_eq!(
            Workload::parse_list("fillseq, readrandom"),
            Ok(vec![Workload::FillSeq, Workload::ReadRandom])
        );
        assert_eq!(Workload::parse_list("fillseq,bogus"), Err("bogus".into()));
    }
}
