//! The checker's unit tests: linearizable and non-linearizable register histories.

use super::*;

fn op(process: u64, op: Op, output: Output, call: u64, ret: Option<u64>) -> Operation {
    Operation {
        process,
        key: "k".into(),
        op,
        output,
        call,
        ret,
    }
}
fn put(p: u64, v: &str, call: u64, ret: u64) -> Operation {
    op(p, Op::Put(v.into()), Output::Ok, call, Some(ret))
}
fn get(p: u64, v: Option<&str>, call: u64, ret: u64) -> Operation {
    op(p, Op::Get, Output::Read(v.map(Into::into)), call, Some(ret))
}
fn is_ok(history: &[Operation]) -> bool {
    matches!(check(history), Verdict::Linearizable { .. })
}

#[test]
fn sequential_reads_of_the_latest_write_are_linearizable() {
    assert!(is_ok(&[
        get(1, None, 0, 1),
        put(1, "a", 2, 3),
        get(2, Some("a"), 4, 5)
    ]));
}

#[test]
fn a_stale_read_after_a_write_returned_is_not() {
    let history = [
        put(1, "a", 0, 1),
        put(1, "b", 2, 3),
        get(2, Some("a"), 4, 5),
    ];
    assert!(matches!(check(&history), Verdict::Violation { ref key, .. } if key == "k"));
}

#[test]
fn a_read_of_a_value_never_written_is_not() {
    assert!(!is_ok(&[put(1, "a", 0, 1), get(2, Some("z"), 2, 3)]));
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // The put overlaps both reads: the first read sees before, the second after.
    assert!(is_ok(&[
        put(1, "a", 0, 10),
        get(2, None, 1, 2),
        get(3, Some("a"), 3, 4)
    ]));
    // But not after, then before.
    assert!(!is_ok(&[
        put(1, "a", 0, 10),
        get(2, Some("a"), 1, 2),
        get(3, None, 3, 4)
    ]));
}

#[test]
fn an_unknown_write_may_take_effect_late_or_never() {
    let unknown = op(1, Op::Put("a".into()), Output::Unknown, 0, None);
    assert!(is_ok(&[unknown.clone(), get(2, None, 5, 6)]));
    assert!(is_ok(&[
        unknown.clone(),
        get(2, None, 5, 6),
        get(2, Some("a"), 100, 101)
    ]));
    // Once seen it cannot be unseen.
    assert!(!is_ok(&[
        unknown,
        get(2, Some("a"), 5, 6),
        get(2, None, 100, 101)
    ]));
}

#[test]
fn unknown_puts_never_read_do_not_blow_up_the_search() {
    // 60 unknown puts, each concurrent with all that follows, among 600 reads and
    // writes: without dropping them the search would be exponential.
    let mut history = Vec::new();
    for i in 0..600u64 {
        let t = i * 10;
        match i % 10 {
            0 => history.push(op(i, Op::Put(format!("lost{i}")), Output::Unknown, t, None)),
            1 => history.push(put(i, &format!("v{i}"), t, t + 5)),
            _ => history.push(get(i, Some(&format!("v{}", i - i % 10 + 1)), t, t + 5)),
        }
    }
    assert_eq!(
        check(&history),
        Verdict::Linearizable {
            keys: 1,
            operations: 540
        }
    );
    // A read of one of them still counts: here it returned before the put began.
    history.push(get(9999, Some("lost10"), 40, 50));
    assert!(matches!(check(&history), Verdict::Violation { .. }));
}

#[test]
fn an_unknown_put_that_was_read_took_effect_before_the_read_returned() {
    let unknown = op(1, Op::Put("a".into()), Output::Unknown, 0, None);
    // Seen at 6, then overwritten by b: a later read of b is fine...
    let seen = get(2, Some("a"), 5, 6);
    assert!(is_ok(&[
        unknown.clone(),
        seen.clone(),
        put(3, "b", 10, 11),
        get(2, Some("b"), 20, 21)
    ]));
    // ...and a read of a after b returned is not, though a never returned.
    let after = get(2, Some("a"), 20, 21);
    assert!(!is_ok(&[unknown, seen, put(3, "b", 10, 11), after]));
}

#[test]
fn deletes_make_the_key_absent() {
    let delete = op(1, Op::Delete, Output::Ok, 2, Some(3));
    assert!(is_ok(&[
        put(1, "a", 0, 1),
        delete.clone(),
        get(2, None, 4, 5)
    ]));
    assert!(!is_ok(&[
        put(1, "a", 0, 1),
        delete,
        get(2, Some("a"), 4, 5)
    ]));
}

#[test]
fn keys_are_checked_independently() {
    let mut other = put(1, "a", 0, 1);
    other.key = "other".into();
    let verdict = check(&[other, put(2, "b", 0, 1), get(3, Some("b"), 2, 3)]);
    assert_eq!(
        verdict,
        Verdict::Linearizable {
            keys: 2,
            operations: 3
        }
    );
}

#[test]
fn a_long_concurrent_history_is_decided() {
    // 4 processes, 2,000 overlapping operations, consistent by construction: each
    // read returns the value of the last write that returned before it was called.
    let mut history = Vec::new();
    let mut last = None;
    for i in 0..2000u64 {
        let (call, ret) = (i * 10, i * 10 + 25);
        if i % 3 == 0 {
            history.push(put(i % 4, &format!("v{i}"), call, ret));
            last = Some(format!("v{i}"));
        } else {
            history.push(get(i % 4, last.as_deref(), call + 26, ret + 26));
        }
    }
    assert!(is_ok(&history));
}
