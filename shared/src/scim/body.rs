//! SCIM request bodies, parsed strictly.
//!
//! JSON lets an object name a key twice and `serde_json` keeps the last
//! value without a word. SCIM attribute names also ignore case, so
//! `{"userName": "a", "username": "b"}` names one attribute twice. Either
//! way the client meant two things at once: the body is refused with the
//! key and where it was seen, and nothing is applied.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, error::Category};

/// Why a request body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all, or cut short.
    #[error("the request body is not valid JSON: {0}")]
    Syntax(String),
    /// Valid JSON that names an attribute twice in one object.
    #[error("the request body {0}")]
    Duplicate(String),
}

/// Parses a SCIM request body into a document, refusing an object that
/// names a key twice (in any case).
pub fn parse_body(bytes: &[u8]) -> Result<Value, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| match e.classify() {
        Category::Data => BodyError::Duplicate(e.to_string()),
        _ => BodyError::Syntax(e.to_string()),
    })
}

/// Builds a `Value` as `serde_json` would, checking each object's keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.to_lowercase()) {
                return Err(de::Error::custom(format_args!(
                    "names \"{key}\" twice in one object (SCIM attribute names ignore case): send each attribute once"
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_parses_as_serde_json_would() {
        let text = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","active":false,"n":-3,"big":18446744073709551615,"x":1.5,"none":null,"name":{"givenName":"Ada"},"emails":[{"value":"a@b.c","primary":true}]}"#;
        let expected: Value = serde_json::from_str(text).expect("json");
        assert_eq!(parse_body(text.as_bytes()), Ok(expected));
    }

    #[test]
    fn a_key_named_twice_in_any_case_is_refused_with_where() {
        for (body, key) in [
            (r#"{"userName":"a@x.org","userName":"b@x.org"}"#, "userName"),
            (r#"{"userName":"a@x.org","USERNAME":"b@x.org"}"#, "USERNAME"),
            (
                r#"{"name":{"givenName":"Ada","givenname":"Bob"}}"#,
                "givenname",
            ),
            (
                r#"{"Operations":[{"op":"add","op":"remove","path":"members"}]}"#,
                "op",
            ),
        ] {
            let Err(BodyError::Duplicate(why)) = parse_body(body.as_bytes()) else {
                panic!("{body} was accepted");
            };
            assert!(
                why.starts_with(&format!("names \"{key}\" twice in one object")),
                "{why}"
            );
            assert!(why.contains("line 1 column"), "{why}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        let body = json!({"Operations": [{"op": "add", "value": {"op": 1}}, {"op": "remove"}]});
        let bytes = serde_json::to_vec(&body).expect("json");
        assert_eq!(parse_body(&bytes), Ok(body));
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        for body in [&b"{\"userName\":"[..], b"{} trailing", b"\xff", b""] {
            assert!(
                matches!(parse_body(body), Err(BodyError::Syntax(_))),
                "{body:?}"
            );
        }
    }
}
