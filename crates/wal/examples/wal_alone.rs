//! quickcache-wal on its own: append records at each durability, sync, read them
//! back, then survive a simulated power loss and recover.
//!
//! Run: `cargo run -p quickcache-wal --example wal_alone`

use std::sync::Arc;

use quickcache_wal::fs::SimFs;
use quickcache_wal::{Durability, Position, Wal, WalOptions};

fn main() -> Result<(), quickcache_wal::Error> {
    // 1. On disk: append, sync, read back.
    let dir = std::env::temp_dir().join(format!("qc-wal-example-{}", std::process::id()));
    let (wal, _) = Wal::open_dir(&dir, WalOptions::default())?;
    wal.append(b"set x = 1", Durability::Os)?; // survives a process crash
    wal.append(b"set y = 2", Durability::Buffered)?; // may be lost by a crash
    wal.sync()?; // now both survive a power loss
    wal.append(b"set z = 3", Durability::Synced)?; // fsynced (group commit) before returning
    wal.close()?;
    let records = Wal::recover_dir(&dir, WalOptions::default())?
        .map(|r| r.map(|r| String::from_utf8_lossy(&r.payload).into_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    println!("read back from {}: {records:?}", dir.display());
    assert_eq!(records, ["set x = 1", "set y = 2", "set z = 3"]);
    let _ = std::fs::remove_dir_all(&dir);

    // 2. A power loss, simulated: what was synced survives, the rest may not.
    let fs = Arc::new(SimFs::new(42));
    let (wal, _) = Wal::open(fs.clone(), "/log", WalOptions::default())?;
    wal.append(b"synced", Durability::Synced)?;
    wal.append(b"not synced", Durability::Os)?;
    let after = Arc::new(fs.crash()); // the disk a power loss would leave
    drop(wal);
    let mut recovery = Wal::recover(after, "/log", WalOptions::default(), Position::START)?;
    let first = recovery.next().transpose()?.map(|r| r.payload);
    assert_eq!(first.as_deref(), Some(&b"synced"[..]));
    let rest = recovery.by_ref().count();
    let (wal, report) = recovery.finish()?; // cuts any torn tail; ready to append
    println!("after the crash: the synced record and {rest} more; damage: {report:?}");
    wal.append(b"after the crash", Durability::Synced)?;
    wal.close()?;
    Ok(())
}
