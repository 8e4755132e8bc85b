//! Reading a whole database back and comparing it with a model, three ways that must
//! agree: a forward scan, a reverse scan, and a `get` of every key.

use quickcache::Db;

use crate::workload::Model;

/// A violated expectation, described with enough context to replay it.
pub type Violation = String;

/// Everything a forward scan of `db` yields.
///
/// # Errors
/// The first error the scan yields, described.
pub fn scan(db: &Db) -> Result<Model, Violation> {
    db.iter()
        .map(|kv| {
            kv.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| format!("forward scan failed: {e}"))
        })
        .collect()
}

/// Checks that forward scan, reverse scan and point reads of `db` agree with each
/// other, returning what they read. `extra_keys` are read with `get` too (keys the
/// model may lack, which must then be absent).
///
/// # Errors
/// A read failed, or two ways of reading disagree.
pub fn read_consistently(db: &Db, extra_keys: &[Vec<u8>]) -> Result<Model, Violation> {
    let forward = scan(db)?;
    let mut reverse = Vec::with_capacity(forward.len());
    for kv in db.iter().rev() {
        let (k, v) = kv.map_err(|e| format!("reverse scan failed: {e}"))?;
        reverse.push((k.to_vec(), v.to_vec()));
    }
    reverse.reverse();
    let forward_pairs: Vec<_> = forward.clone().into_iter().collect();
    if reverse != forward_pairs {
        return Err(format!(
            "reverse scan ({} pairs) differs from forward scan ({} pairs)",
            reverse.len(),
            forward.len()
        ));
    }
    for key in forward.keys().chain(extra_keys) {
        let got = db
            .get(key)
            .map_err(|e| format!("get {} failed: {e}", show(key)))?;
        let want = forward.get(key);
        if got.as_deref() != want.map(Vec::as_slice) {
            return Err(format!(
                "get {} = {:?} but the scan says {:?}",
                show(key),
                got.map(|v| show(&v)),
                want.map(|v| show(v))
            ));
        }
    }
    Ok(forward)
}

/// [`read_consistently`] over every keyspace a spread workload writes
/// ([`crate::workload::Op::run_spread`]), as one map: each keyspace is read three
/// ways, and a key found in a keyspace other than the one it belongs to is a
/// violation.
///
/// # Errors
/// A read failed, two ways of reading disagree, or a key is in the wrong keyspace.
pub fn read_spread(db: &Db, extra_keys: &[Vec<u8>]) -> Result<Model, Violation> {
    use crate::workload::{KEYSPACES, keyspace_of};
    let mut all = read_consistently(db, extra_keys)?;
    if let Some(k) = all.keys().find(|k| keyspace_of(k).is_some()) {
        return Err(format!("{} is in the default keyspace", show(k)));
    }
    for (i, name) in KEYSPACES.iter().enumerate() {
        let Some(ks) = db.find_keyspace(name) else {
            continue;
        };
        let mut forward = Vec::new();
        for kv in ks.iter() {
            let (k, v) = kv.map_err(|e| format!("scan of keyspace {name} failed: {e}"))?;
            forward.push((k, v.to_vec()));
        }
        let mut reverse = Vec::new();
        for kv in ks.iter().rev() {
            let (k, v) = kv.map_err(|e| format!("reverse scan of keyspace {name}: {e}"))?;
            reverse.push((k, v.to_vec()));
        }
        reverse.reverse();
        if reverse != forward {
            return Err(format!("keyspace {name}: the reverse scan differs"));
        }
        for (k, v) in forward {
            if keyspace_of(&k) != Some(i) {
                return Err(format!("{} is in keyspace {name}", show(&k)));
            }
            let got = ks
                .get(&k)
                .map_err(|e| format!("get in keyspace {name}: {e}"))?;
            if got.as_deref() != Some(v.as_slice()) {
                return Err(format!(
                    "keyspace {name}: get {} = {} disagrees with the scan's {}",
                    show(&k),
                    got.as_deref().map_or_else(|| "nothing".into(), show),
                    show(&v)
                ));
            }
            all.insert(k, v);
        }
    }
    Ok(all)
}

/// Checks that `db` holds exactly `model`, read three ways.
///
/// # Errors
/// A read failed, or the contents differ from the model.
pub fn expect_model(db: &Db, model: &Model, extra_keys: &[Vec<u8>]) -> Result<(), Violation> {
    let got = read_consistently(db, extra_keys)?;
    if &got == model {
        return Ok(());
    }
    Err(describe_difference(model, &got))
}

/// The first differences between an expected and a found state, described.
pub fn describe_difference(want: &Model, got: &Model) -> String {
    let mut lines = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => lines.push(format!("missing {}", show(k))),
            Some(g) if g != v => lines.push(format!(
                "{} = {} but expected {}",
                show(k),
                show(g),
                show(v)
            )),
            Some(_) => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        lines.push(format!("unexpected {} = {}", show(k), show(&got[k])));
    }
    lines.truncate(8);
    format!(
        "contents differ ({} expected, {} found): {}",
        want.len(),
        got.len(),
        lines.join("; ")
    )
}

/// A byte string shortened for messages.
pub fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(24)]).into_owned();
    if bytes.len() > 24 {
        format!("{text}..({} bytes)", bytes.len())
    } else {
        text
    }
}

/// Joins every worker, handing each one's result to `add`; the first error (or panic)
/// among them is returned once all have ended, so no worker is left running.
///
/// # Errors
/// A worker returned an error or panicked.
pub fn join_workers<T>(
    handles: Vec<std::thread::JoinHandle<Result<T, Violation>>>,
    mut add: impl FnMut(T),
) -> Result<(), Violation> {
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(Ok(s)) => add(s),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert_with(|| "a thread panicked".to_string());
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
