//! The fuzz program's transaction steps, checked against the models: a
//! transaction's reads see the state it began in, a lone transaction commits, and a
//! plain write to a key a transaction read makes its commit conflict (another key
//! does not). A committed transaction is one write: one more state for power losses.
//! A third of the lone transactions also delete a range starting at the key read,
//! before their puts (which then survive over it).

use quickcache::{Db, Keyspace, Transaction};

use super::{Run, collect_scan, key, keyspace};
use crate::check::{Violation, show};
use crate::workload::value;

/// The named keyspace of state index `ks`, or `None` for the default.
fn named(keyspaces: &[Keyspace], ks: usize) -> Option<&Keyspace> {
    ks.checked_sub(1).and_then(|i| keyspaces.get(i))
}

fn tx_get(
    tx: &mut Transaction,
    ks: Option<&Keyspace>,
    key: &[u8],
) -> Result<Option<Vec<u8>>, Violation> {
    let got = match ks {
        Some(ks) => tx.get_in(ks, key),
        None => tx.get(key),
    };
    got.map(|v| v.map(|v| v.to_vec()))
        .map_err(|e| format!("transaction get: {e}"))
}

fn tx_put(tx: &mut Transaction, ks: Option<&Keyspace>, key: &[u8], value: Option<&[u8]>) {
    match (ks, value) {
        (Some(ks), Some(v)) => tx.put_in(ks, key, v),
        (Some(ks), None) => tx.delete_in(ks, key),
        (None, Some(v)) => tx.put(key, v),
        (None, None) => tx.delete(key),
    };
}

fn plain_put(db: &Db, ks: Option<&Keyspace>, key: &[u8], value: &[u8]) -> quickcache::Result<()> {
    match ks {
        Some(ks) => ks.put(key, value),
        None => db.put(key, value),
    }
}

impl Run {
    pub(super) fn txn(&mut self, read: u8, also: u8, len: usize) -> Result<(), Violation> {
        let (ks, k, other) = (keyspace(read), key(read), key(also));
        let mut state = self.state().clone();
        let tag = self.tags + 1;
        let (db, keyspaces) = self.db()?;
        let handle = named(keyspaces, ks);
        let mut tx = db.transaction();
        let got = tx_get(&mut tx, handle, &k)?;
        if got.as_ref() != state[ks].get(&k) {
            return Err(format!(
                "transaction get {}: differs from the model",
                show(&k)
            ));
        }
        let scan = match handle {
            Some(h) => tx.iter_in(h),
            None => tx.iter(),
        };
        let rev = collect_scan("a transaction", scan.rev())?;
        if !rev.iter().rev().map(|(k, v)| (k, v)).eq(state[ks].iter()) {
            return Err("a transaction's reverse scan differs from the model".into());
        }
        // A range from the key read, 1 to 4 keys wide, in a third of the runs.
        let range_end = len
            .is_multiple_of(3)
            .then(|| format!("k{:02}", read % 24 + 1 + (len % 4) as u8));
        if let Some(end) = &range_end {
            let range = k.clone()..end.clone().into_bytes();
            match handle {
                Some(h) => tx.delete_range_in(h, range),
                None => tx.delete_range(range),
            };
            if tx_get(&mut tx, handle, &k)?.is_some() {
                return Err(format!("{} read after the range delete", show(&k)));
            }
        }
        let flipped = got.is_none().then(|| value(tag, len));
        tx_put(&mut tx, handle, &k, flipped.as_deref());
        let also_value = value(tag, len / 2 + 1);
        tx_put(&mut tx, handle, &other, Some(&also_value));
        tx.commit()
            .map_err(|e| format!("a lone transaction's commit: {e}"))?;
        if let Some(end) = range_end {
            state[ks].retain(|key, _| *key < k || key.as_slice() >= end.as_bytes());
        }
        match flipped {
            Some(v) => state[ks].insert(k, v),
            None => state[ks].remove(&k),
        };
        state[ks].insert(other, also_value);
        self.tags = tag;
        self.states.push(state);
        Ok(())
    }

    pub(super) fn txn_race(&mut self, read: u8, written: u8) -> Result<(), Violation> {
        let (ks, k) = (keyspace(read), key(read));
        let (ws, w) = (keyspace(written), key(written));
        let mut state = self.state().clone();
        let tag = self.tags + 1;
        let (db, keyspaces) = self.db()?;
        let mut tx = db.transaction();
        tx_get(&mut tx, named(keyspaces, ks), &k)?;
        let plain = value(tag, 9);
        plain_put(db, named(keyspaces, ws), &w, &plain).map_err(|e| format!("plain put: {e}"))?;
        state[ws].insert(w.clone(), plain);
        let mut states = vec![state.clone()];
        let mine = value(tag + 1, 11);
        tx_put(&mut tx, named(keyspaces, ks), &k, Some(&mine));
        let same = ks == ws && k == w;
        match tx.commit() {
            Err(e) if e.is_conflict() && same => {}
            Err(e) => return Err(format!("transaction commit (same key: {same}): {e}")),
            Ok(()) if same => {
                return Err(format!("a plain write to {} did not conflict", show(&k)));
            }
            Ok(()) => {
                state[ks].insert(k, mine);
                states.push(state);
            }
        }
        self.tags = tag + 1;
        self.states.extend(states);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine;

    /// Programs of the transaction steps: code 33 is `Txn`, 50 is `TxnRace`
    /// (16 modulo 17, then the third of it by `code / 17`); 12 checks the state,
    /// 14 loses power.
    #[test]
    fn transaction_steps_hold_against_the_model() {
        let programs: [&[u8]; 5] = [
            &[1, 33, 5, 3, 7, 0, 12, 0, 0, 0, 0],
            // Length byte 2 (9 bytes): a range delete of [k05, k07) over puts of k05..=k08.
            &[
                5, 0, 5, 0, 0, 0, 0, 6, 0, 0, 0, 0, 7, 0, 0, 0, 0, 8, 0, 0, 0, 0, 33, 5, 2, 7, 0,
                12, 0, 0, 0, 0,
            ],
            &[
                2, 33, 5, 3, 7, 0, 33, 5, 3, 9, 0, 14, 0, 0, 0, 0, 12, 0, 0, 0, 0,
            ],
            &[3, 50, 5, 0, 5, 0, 12, 0, 0, 0, 0],
            &[4, 50, 5, 0, 6, 0, 50, 30, 0, 6, 0, 14, 0, 0, 0, 0],
        ];
        for program in programs {
            engine(program).unwrap();
        }
    }
}
