//! Which state keyspace is live, and removing the state keyspaces that are not.
//!
//! The replicated keys live in one state keyspace: `raft-state` until the first
//! install, then `raft-state-<n>`, a fresh one per install. The `state-keyspace`
//! record in `raft-meta` names the live one (absent: `raft-state`, which is also how
//! the previous layout, with no such record, reads). An install stages the snapshot
//! into a new keyspace, makes it live with one synced `raft-meta` batch, and then
//! drops the old one; a crash between any two of those steps leaves a keyspace that
//! is not live, which the next open drops (and the next install too, before staging).

use quickcache::{Db, Keyspace, Snapshot};
use snafu::ResultExt;

use crate::error::{DbSnafu, MissingStateKeyspaceSnafu, Result, StateKeyspaceNamesSnafu};
use crate::keys;
use crate::store::read_json;

/// The name of the live state keyspace as `meta` records it.
pub(crate) fn live_name(meta: &Keyspace) -> Result<String> {
    let name: Option<String> = read_json(meta.get(keys::LIVE_STATE), "live state keyspace")?;
    Ok(name.unwrap_or_else(|| keys::STATE_KEYSPACE.to_owned()))
}

/// The name of the live state keyspace as of `view`.
pub(crate) fn live_name_at(view: &Snapshot, meta: &Keyspace) -> Result<String> {
    let got = view.get_in(meta, keys::LIVE_STATE);
    let name: Option<String> = read_json(got, "live state keyspace")?;
    Ok(name.unwrap_or_else(|| keys::STATE_KEYSPACE.to_owned()))
}

/// The live state keyspace of `db`. `raft-state` is created when missing (a fresh
/// directory); any other live keyspace must exist.
///
/// # Errors
/// [`crate::Error::MissingStateKeyspace`] if the recorded keyspace is missing.
pub(crate) fn open_live_state(db: &Db, meta: &Keyspace) -> Result<Keyspace> {
    let name = live_name(meta)?;
    if name == keys::STATE_KEYSPACE {
        return db.keyspace(&name).context(DbSnafu {
            operation: "opening the state keyspace",
        });
    }
    match db.find_keyspace(&name) {
        Some(keyspace) => Ok(keyspace),
        None => MissingStateKeyspaceSnafu { name }.fail(),
    }
}

/// Drops every state keyspace but `live`: staged ones whose install never became
/// live, and replaced ones whose drop a crash interrupted. None is ever read.
pub(crate) fn drop_stale_state_keyspaces(db: &Db, live: &str) -> Result<()> {
    for name in db.keyspaces() {
        if name != live && keys::state_keyspace_number(&name).is_some() {
            db.drop_keyspace(&name).context(DbSnafu {
                operation: "dropping a state keyspace that is not live",
            })?;
        }
    }
    Ok(())
}

/// The name for the next install to stage into: one past the highest state keyspace
/// number in `db`, so never the name of a keyspace that exists.
///
/// # Errors
/// [`crate::Error::StateKeyspaceNames`] past `raft-state-18446744073709551615`
/// (2^64 installs, or a damaged manifest).
pub(crate) fn next_state_name(db: &Db) -> Result<String> {
    let highest = db
        .keyspaces()
        .iter()
        .filter_map(|name| keys::state_keyspace_number(name))
        .max()
        .unwrap_or(0);
    match highest.checked_add(1) {
        Some(next) => Ok(keys::state_keyspace(next)),
        None => StateKeyspaceNamesSnafu.fail(),
    }
}
