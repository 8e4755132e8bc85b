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
