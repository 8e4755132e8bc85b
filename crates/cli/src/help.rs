//! The longer texts of `--help`: how keys and values are typed and shown.

/// The escape rules, shared by every command that takes or prints keys and values.
macro_rules! keys_and_values {
    () => {
        "Keys and values:
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

/// `get`'s.
pub(crate) const GET: &str = keys_and_values!();
/// `put`'s.
pub(crate) const PUT: &str = keys_and_values!();
/// `delete`'s.
pub(crate) const DELETE: &str = keys_and_values!();
/// `scan`'s.
pub(crate) const SCAN: &str = keys_and_values!();
