//! `get`, `put` and `delete`: one key at a time.

use std::io::Write;

use quickcache::WriteOptions;

use super::open::{db_error, open, open_existing};
use crate::CliError;
use crate::args::{KeyArgs, PutArgs};
use crate::error::output;
use crate::escape::Format;

fn parse(format: Format, text: &str, what: &str) -> Result<Vec<u8>, CliError> {
    format
        .parse(text)
        .map_err(|e| CliError::Usage(format!("{what}: {e}")))
}

/// The keyspace `name` of `db`, which must exist (reads and deletes never create one).
///
/// # Errors
/// [`CliError::NotFound`] naming the keyspace.
pub(crate) fn existing(db: &quickcache::Db, name: &str) -> Result<quickcache::Keyspace, CliError> {
    db.find_keyspace(name)
        .ok_or_else(|| CliError::NotFound(format!("keyspace {name}")))
}

/// Prints the value of the key, or fails with [`CliError::NotFound`].
///
/// # Errors
/// No database, a database error, or the key is absent.
pub(crate) fn get(args: &KeyArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let format = args.format.format();
    let key = parse(format, &args.key, "key")?;
    let db = super::open::open_for_reading(&args.db.db)?;
    let value = match &args.keyspace {
        Some(name) => existing(&db, name)?.get(&key),
        None => db.get(&key),
    };
    let value = value.map_err(db_error(&args.db.db))?;
    let value = value.ok_or_else(|| CliError::NotFound(format.show(&key)))?;
    format.write(out, &value).map_err(output)?;
    if format != Format::Raw {
        writeln!(out).map_err(output)?;
    }
    db.close().map_err(db_error(&args.db.db))
}

/// Writes the key and value.
///
/// # Errors
/// No database (unless `--create`), a database error.
pub(crate) fn put(args: &PutArgs) -> Result<(), CliError> {
    let format = args.format.format();
    let key = parse(format, &args.key, "key")?;
    let value = parse(format, &args.value, "value")?;
    let path = &args.db.db;
    let db = if args.create {
        open(path)?
    } else {
        open_existing(path)?
    };
    let options = if args.sync {
        WriteOptions::synced()
    } else {
        WriteOptions::default()
    };
    let written = match &args.keyspace {
        Some(name) => db
            .keyspace(name)
            .and_then(|ks| ks.put_with(&key, &value, &options)),
        None => db.put_with(&key, &value, &options),
    };
    written.map_err(db_error(path))?;
    db.close().map_err(db_error(path))
}

/// Deletes the key (deleting an absent key is not an error).
///
/// # Errors
/// No database, a database error.
pub(crate) fn delete(args: &KeyArgs) -> Result<(), CliError> {
    let format = args.format.format();
    let key = parse(format, &args.key, "key")?;
    let db = open_existing(&args.db.db)?;
    let deleted = match &args.keyspace {
        Some(name) => existing(&db, name)?.delete(&key),
        None => db.delete(&key),
    };
    deleted.map_err(db_error(&args.db.db))?;
    db.close().map_err(db_error(&args.db.db))
}
