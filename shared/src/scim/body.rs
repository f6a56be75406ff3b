//! SCIM request bodies, parsed strictly (see [`crate::strict_json`]): SCIM
//! attribute names ignore case, so `{"userName": "a", "USERNAME": "b"}`
//! names one attribute twice and is refused, with the key and where, instead
//! of silently becoming one of the two.

use serde_json::Value;

use crate::strict_json::{self, KeyCase, StrictJsonError};

/// Why a request body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all, or cut short.
    #[error("the request body is not valid JSON: {0}")]
    Syntax(String),
    /// Valid JSON that names an attribute twice in one object.
    #[error(
        "the request body names \"{key}\" twice in one object ({at}; SCIM attribute names ignore case): send each attribute once"
    )]
    Duplicate { key: String, at: String },
}

/// Parses a SCIM request body into a document.
pub fn parse_body(bytes: &[u8]) -> Result<Value, BodyError> {
    strict_json::parse(bytes, KeyCase::Ignored).map_err(|e| match e {
        StrictJsonError::Syntax(why) => BodyError::Syntax(why),
        StrictJsonError::Duplicate { key, at } => BodyError::Duplicate { key, at },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribute_named_twice_in_any_case_is_one_sentence_with_where() {
        let err = parse_body(br#"{"userName":"a@x.org","USERNAME":"b@x.org"}"#).expect_err("twice");
        assert_eq!(
            err.to_string(),
            "the request body names \"USERNAME\" twice in one object (line 1 column 32; SCIM attribute names ignore case): send each attribute once"
        );
        assert!(matches!(parse_body(b"{"), Err(BodyError::Syntax(_))));
    }
}
