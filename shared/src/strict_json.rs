//! JSON parsed strictly: an object that names a key twice is refused.
//!
//! JSON lets an object repeat a key and `serde_json` keeps the last value
//! without a word, so `{"team": "core", "team": "web"}` would quietly
//! become `{"team": "web"}`. The client meant two things at once; roster
//! says so instead of picking one. SCIM attribute names also ignore case,
//! so there `userName` and `USERNAME` are the same key ([`KeyCase::Ignored`]).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, error::Category};

/// Whether two keys that differ only in case are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCase {
    /// Keys are compared as written (JSON's own rule).
    Exact,
    /// Keys are compared ignoring case (SCIM attribute names).
    Ignored,
}

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all, or cut short: serde_json's own sentence.
    #[error("{0}")]
    Syntax(String),
    /// Valid JSON whose object names `key` twice; `at` says where
    /// (serde_json's "line L column C").
    #[error("names \"{key}\" twice in one object ({at})")]
    Duplicate { key: String, at: String },
}

/// Parses `bytes` as one JSON value, refusing repeated keys.
pub fn parse(bytes: &[u8], case: KeyCase) -> Result<Value, StrictJsonError> {
    let repeated = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue {
        case,
        repeated: &repeated,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| match (e.classify(), repeated.take()) {
        (Category::Data, Some(key)) => StrictJsonError::Duplicate {
            key,
            at: format!("line {} column {}", e.line(), e.column()),
        },
        _ => StrictJsonError::Syntax(e.to_string()),
    })
}

/// For `#[serde(deserialize_with)]` on an optional JSON field of a request:
/// the value as `serde_json` would build it, or the error "names "k" twice
/// in one object" where a key repeats.
pub fn optional_value<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let repeated = RefCell::new(None);
    let value = StrictValue {
        case: KeyCase::Exact,
        repeated: &repeated,
    }
    .deserialize(d)?;
    Ok(match value {
        Value::Null => None,
        other => Some(other),
    })
}

/// Builds a `Value`, checking each object's keys; notes the repeated key
/// in `repeated`, for the caller to name it.
struct StrictValue<'a> {
    case: KeyCase,
    repeated: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.again())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        // Lower-cased keys, kept only for objects too large to compare
        // each new key with the ones before.
        let mut folded = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let repeated = match self.case {
                KeyCase::Exact => object.contains_key(&key),
                KeyCase::Ignored if object.len() < SCAN_UP_TO => {
                    object.keys().any(|k| same_ignoring_case(k, &key))
                }
                KeyCase::Ignored => {
                    if folded.is_empty() {
                        folded.extend(object.keys().map(|k| k.to_lowercase()));
                    }
                    !folded.insert(key.to_lowercase())
                }
            };
            if repeated {
                let message = format!("names \"{key}\" twice in one object");
                *self.repeated.borrow_mut() = Some(key);
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(self.again())?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Objects with fewer keys than this are checked by comparing each new key
/// with the ones before (no allocation: SCIM resources have a handful);
/// larger ones (a member list's object, metadata) through a set.
const SCAN_UP_TO: usize = 16;

/// Whether two keys are the same ignoring case.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

impl StrictValue<'_> {
    fn again(&self) -> Self {
        Self {
            case: self.case,
            repeated: self.repeated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_text_parses_as_serde_json_would() {
        let text = r#"{"schemas":["urn:x"],"userName":"ada@example.com","active":false,"n":-3,"big":18446744073709551615,"x":1.5,"none":null,"name":{"givenName":"Ada"},"emails":[{"value":"a@b.c","primary":true}]}"#;
        let expected: Value = serde_json::from_str(text).expect("json");
        assert_eq!(parse(text.as_bytes(), KeyCase::Exact), Ok(expected.clone()));
        assert_eq!(parse(text.as_bytes(), KeyCase::Ignored), Ok(expected));
    }

    #[test]
    fn a_repeated_key_is_named_with_where_it_was() {
        let cases = [
            (r#"{"team":"a","team":"b"}"#, KeyCase::Exact, "team"),
            (r#"{"a":{"k":1,"k":2}}"#, KeyCase::Exact, "k"),
            (r#"[{"op":"add","op":"remove"}]"#, KeyCase::Exact, "op"),
            (
                r#"{"userName":"a","USERNAME":"b"}"#,
                KeyCase::Ignored,
                "USERNAME",
            ),
        ];
        for (text, case, key) in cases {
            // serde_json points at the closing quote of the second one.
            let quoted = format!("\"{key}\"");
            let column = text.rfind(&quoted).expect("key") + quoted.len();
            assert_eq!(
                parse(text.as_bytes(), case),
                Err(StrictJsonError::Duplicate {
                    key: key.into(),
                    at: format!("line 1 column {column}")
                }),
                "{text}"
            );
        }
        let differ_in_case = r#"{"Team":"a","team":"b"}"#;
        assert!(parse(differ_in_case.as_bytes(), KeyCase::Exact).is_ok());
    }

    /// `{"k0":1,"k1":1,…}` with `keys` in order.
    fn object_of(keys: &[String]) -> String {
        let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
        format!("{{{}}}", members.join(","))
    }

    #[test]
    fn a_large_object_is_checked_as_well_as_a_small_one() {
        for n in [3, 15, 16, 17, 200] {
            let mut keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            let distinct = object_of(&keys);
            assert!(
                parse(distinct.as_bytes(), KeyCase::Ignored).is_ok(),
                "{n} keys"
            );
            keys.push(format!("K{}", n - 1));
            let repeated = object_of(&keys);
            for case in [KeyCase::Ignored, KeyCase::Exact] {
                let outcome = parse(repeated.as_bytes(), case);
                match case {
                    KeyCase::Ignored => assert!(
                        matches!(&outcome, Err(StrictJsonError::Duplicate { key, .. }) if *key == format!("K{}", n - 1)),
                        "{n} keys: {outcome:?}"
                    ),
                    KeyCase::Exact => assert!(outcome.is_ok(), "{n} keys: {outcome:?}"),
                }
            }
        }
        let accents = r#"{"Ärger":1,"ärger":2}"#;
        assert!(matches!(
            parse(accents.as_bytes(), KeyCase::Ignored),
            Err(StrictJsonError::Duplicate { .. })
        ));
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        let value = json!({"Operations": [{"op": "add", "value": {"op": 1}}, {"op": "remove"}]});
        let bytes = serde_json::to_vec(&value).expect("json");
        assert_eq!(parse(&bytes, KeyCase::Ignored), Ok(value));
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        for text in [&b"{\"userName\":"[..], b"{} trailing", b"\xff", b""] {
            assert!(
                matches!(parse(text, KeyCase::Exact), Err(StrictJsonError::Syntax(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let Err(StrictJsonError::Syntax(why)) = parse(text.as_bytes(), KeyCase::Ignored) else {
            panic!("100,000 nested arrays were accepted");
        };
        assert!(why.contains("recursion limit"), "{why}");
    }

    #[test]
    fn a_request_field_refuses_a_repeated_key_and_keeps_null_as_none() {
        #[derive(serde::Deserialize, Debug)]
        struct Request {
            #[serde(default, deserialize_with = "optional_value")]
            metadata: Option<Value>,
        }
        let ok: Request = serde_json::from_str(r#"{"metadata":{"a":"1"}}"#).expect("ok");
        assert_eq!(ok.metadata, Some(json!({"a": "1"})));
        let null: Request = serde_json::from_str(r#"{"metadata":null}"#).expect("null");
        assert_eq!(null.metadata, None);
        let absent: Request = serde_json::from_str("{}").expect("absent");
        assert_eq!(absent.metadata, None);
        let err = serde_json::from_str::<Request>(r#"{"metadata":{"a":"1","a":"2"}}"#)
            .expect_err("repeated key");
        assert!(
            err.to_string()
                .starts_with("names \"a\" twice in one object"),
            "{err}"
        );
    }
}
