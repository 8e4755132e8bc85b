//! Entry point of the `manifest` fuzz target in `fuzz/`, also replayed over the
//! committed seed corpus by `cargo test` (`tests/fuzz_corpus.rs`), so both run the
//! same code. Not part of the stable API.
//!
//! [`manifest`] feeds arbitrary bytes to the edit decoder, and to recovery as a whole
//! manifest file and as one record of a well-framed manifest. Refusals are expected;
//! `Err` means a property failed (the fuzz target panics on it).

use std::path::Path;
use std::sync::Arc;

use quickcache_fs::{DynFs, SimFs};

use crate::edit::codec::{decode, encode};
use crate::{CURRENT, VersionSet, framing, manifest_name};

/// A violated invariant, described.
pub type Violation = String;

const DIR: &str = "/db";

/// Checks that decoding `data` as an edit never panics and that a decoded edit
/// re-encodes to an edit that decodes equal; and that opening a manifest made of
/// `data` (raw, and framed as a record) never panics.
pub fn manifest(data: &[u8]) -> Result<(), Violation> {
    if let Ok(edit) = decode(data) {
        let mut again = Vec::new();
        encode(&edit, &mut again);
        match decode(&again) {
            Ok(back) if back == edit => {}
            Ok(back) => return Err(format!("re-encoded edit decodes differently: {back:?}")),
            Err(e) => return Err(format!("re-encoded edit does not decode: {e}")),
        }
    }
    let mut raw = framing::header(1);
    raw.extend_from_slice(data);
    open_manifest(&raw)?;
    let mut framed = framing::header(1);
    let at = framed.len() as u64;
    if framing::frame(&mut framed, 1, at, data).is_ok() {
        open_manifest(&framed)?;
    }
    Ok(())
}

/// Recovers a tree whose only manifest holds `bytes`; any result but a panic is fine,
/// but a tree that opens must open again the same (keyspaces, log numbers, tables):
/// the first open may have written a fresh manifest from its snapshot.
fn open_manifest(bytes: &[u8]) -> Result<(), Violation> {
    let sim = SimFs::new(0);
    let fs: DynFs = Arc::new(sim);
    let dir = Path::new(DIR);
    let setup = || -> quickcache_fs::Result<()> {
        fs.create_dir_all(dir)?;
        for (name, contents) in [
            (manifest_name(1), bytes),
            (CURRENT.to_string(), b"MANIFEST-000001\n".as_slice()),
        ] {
            let mut file = fs.create(&dir.join(name))?;
            file.append(contents)?;
            file.sync_all()?;
            file.close()?;
        }
        fs.sync_dir(dir)
    };
    setup().map_err(|e| format!("setup: {e}"))?;
    let _inspected = VersionSet::inspect(Arc::clone(&fs), dir);
    let options = crate::CompactionOptions::default();
    let Ok(first) = VersionSet::open(Arc::clone(&fs), dir, options.clone()) else {
        return Ok(());
    };
    let before = shape(&first);
    drop(first);
    let again = VersionSet::open(fs, dir, options)
        .map_err(|e| format!("a tree that opened does not open again: {e}"))?;
    let after = shape(&again);
    if after != before {
        return Err(format!("reopened as {after:?}, was {before:?}"));
    }
    Ok(())
}

/// What must survive a reopen: the default keyspace's log number and tables, and
/// each other keyspace's id, definition, log number and tables.
fn shape(set: &VersionSet) -> Vec<String> {
    let ids = |v: &crate::Version| {
        let mut ids: Vec<u64> = v.tables().map(|(_, t)| t.info().id.0).collect();
        ids.sort_unstable();
        ids
    };
    let mut out = vec![format!(
        "default log {} tables {:?}",
        set.log_number(),
        ids(&set.current())
    )];
    for (id, tree) in set.keyspaces() {
        out.push(format!(
            "{id} {:?} log {} tables {:?}",
            tree.def,
            tree.log_number,
            ids(&tree.version)
        ));
    }
    out
}
