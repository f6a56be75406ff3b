//! Case-insensitive access to SCIM JSON documents: attribute names are
//! case-insensitive (RFC 7643 §2.1) and IdPs do send `"Operations"`,
//! `"Active"` and `"Value"`.

use serde_json::{Map, Value};

/// The value under `name`, matching the key case-insensitively.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The key actually used for `name` in `obj`, if any.
pub fn key_ci(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Mutable access to the value under `name`, matching case-insensitively.
pub fn get_ci_mut<'a>(obj: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_ci(obj, name)?;
    obj.get_mut(&key)
}

/// Sets `name`, replacing a key that differs only in case.
pub fn set_ci(obj: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_ci(obj, name).unwrap_or_else(|| name.to_string());
    obj.insert(key, value);
}

/// Removes `name`, matching case-insensitively.
pub fn remove_ci(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_ci(obj, name)?;
    obj.remove(&key)
}

/// A boolean as IdPs send it: `true`, or the strings `"True"`/`"false"`.
pub fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// True when a value counts as "present" (RFC 7644 `pr`): not null, not an
/// empty string, array or object.
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_in_any_case() {
        let v = json!({"Operations": [1], "userName": "a"});
        let o = v.as_object().expect("object");
        assert_eq!(get_ci(o, "operations"), Some(&json!([1])));
        assert_eq!(get_ci(o, "USERNAME"), Some(&json!("a")));
        assert_eq!(get_ci(o, "nope"), None);
    }

    #[test]
    fn booleans_come_as_strings_too() {
        assert_eq!(lenient_bool(&json!("False")), Some(false));
        assert_eq!(lenient_bool(&json!("TRUE")), Some(true));
        assert_eq!(lenient_bool(&json!(true)), Some(true));
        assert_eq!(lenient_bool(&json!("yes")), None);
        assert_eq!(lenient_bool(&json!(0)), None);
    }
}
