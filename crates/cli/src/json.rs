//! Just enough JSON for the `--json` outputs: objects built field by field, arrays,
//! and strings escaped as RFC 8259 requires. No parser; nothing reads JSON here.

use std::fmt::{Display, Write as _};

/// A JSON object under construction, its fields in the order they are added.
///
/// # Examples
/// ```
/// use quickcache_cli::json::{Object, array};
/// let tables = array([Object::new().num("id", 7).finish()]);
/// let line = Object::new()
///     .str("path", "db/\"x\"")
///     .num("files", 1)
///     .float("ratio", f64::NAN)
///     .raw("tables", &tables)
///     .finish();
/// assert_eq!(line, r#"{"path":"db/\"x\"","files":1,"ratio":null,"tables":[{"id":7}]}"#);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Object(String);

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    fn key(&mut self, key: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push_str(&string(key));
        self.0.push(':');
    }

    /// Adds a string field.
    pub fn str(mut self, key: &str, value: &str) -> Object {
        self.key(key);
        self.0.push_str(&string(value));
        self
    }

    /// Adds an integer field (or anything whose `Display` is a JSON number).
    pub fn num(mut self, key: &str, value: impl Display) -> Object {
        self.key(key);
        let _ = write!(self.0, "{value}");
        self
    }

    /// Adds a floating-point field; `null` if it is not finite (JSON has no NaN).
    pub fn float(mut self, key: &str, value: f64) -> Object {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.0, "{value}");
        } else {
            self.0.push_str("null");
        }
        self
    }

    /// Adds a boolean field.
    pub fn bool(self, key: &str, value: bool) -> Object {
        self.num(key, value)
    }

    /// Adds a field holding `json`, which must already be JSON (an object, an
    /// array, `null`).
    pub fn raw(mut self, key: &str, json: &str) -> Object {
        self.key(key);
        self.0.push_str(json);
        self
    }

    /// The object's text, on one line.
    pub fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

/// A JSON array of already-JSON items.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

/// `s` as a quoted JSON string.
///
/// # Examples
/// ```
/// assert_eq!(quickcache_cli::json::string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
/// ```
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `Some(s)` as a JSON string, `None` as `null`.
pub fn string_or_null(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_and_array() {
        assert_eq!(Object::new().finish(), "{}");
        assert_eq!(array(Vec::new()), "[]");
    }

    #[test]
    fn fields_keep_their_order_and_types() {
        let o = Object::new()
            .bool("ok", true)
            .float("wa", 1.5)
            .raw("x", "null")
            .finish();
        assert_eq!(o, r#"{"ok":true,"wa":1.5,"x":null}"#);
        assert_eq!(string_or_null(None), "null");
        assert_eq!(string_or_null(Some("\t")), r#""\u0009""#);
    }
}
