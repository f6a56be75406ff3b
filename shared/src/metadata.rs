//! Membership metadata: string keys to string values, some of them hidden.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::strict_json::{self, KeyCase, StrictJsonError};

/// ToolJet's limits on metadata, applied everywhere metadata enters.
#[derive(Debug, Clone, Copy)]
pub struct MetadataLimits;

impl MetadataLimits {
    /// Longest key.
    pub const KEY_MAX_CHARS: usize = 64;
    /// Longest single value.
    pub const VALUE_MAX_CHARS: usize = 2_000;
    /// Keys and values together.
    pub const TOTAL_MAX_CHARS: usize = 200_000;
}

/// A validated metadata object. Hidden keys are write-only for clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub values: BTreeMap<String, String>,
    /// Skipped when empty, so it must stay the last field: member records
    /// store metadata positionally, where only trailing fields may be absent.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub hidden: BTreeSet<String>,
}

impl Metadata {
    /// Parses metadata given as JSON text (CLI `--metadata`, CSV column).
    pub fn parse_json(text: &str) -> Result<Self, ValidationError> {
        let value = strict_json::parse(text.as_bytes(), KeyCase::Exact).map_err(|e| match e {
            StrictJsonError::Duplicate { key, .. } => ValidationError::MetadataKeyDuplicate(key),
            StrictJsonError::Syntax(why) => ValidationError::MetadataNotObject(why),
        })?;
        Self::from_value(&value)
    }

    /// Validates an already-parsed JSON value.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ValidationError> {
        let serde_json::Value::Object(map) = value else {
            return Err(ValidationError::MetadataNotObject(format!(
                "got {}",
                json_kind(value)
            )));
        };
        let mut values = BTreeMap::new();
        for (k, v) in map {
            let serde_json::Value::String(s) = v else {
                return Err(ValidationError::MetadataValueNotString { key: k.clone() });
            };
            values.insert(k.clone(), s.clone());
        }
        Self::from_map(values)
    }

    /// Validates a map of keys to values against [`MetadataLimits`].
    pub fn from_map(values: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        let mut total = 0usize;
        for (k, v) in &values {
            if !valid_key(k) {
                return Err(ValidationError::MetadataKeyInvalid(k.clone()));
            }
            let len = v.chars().count();
            if len > MetadataLimits::VALUE_MAX_CHARS {
                return Err(ValidationError::MetadataValueTooLong {
                    key: k.clone(),
                    max: MetadataLimits::VALUE_MAX_CHARS,
                });
            }
            total += k.chars().count() + len;
        }
        if total > MetadataLimits::TOTAL_MAX_CHARS {
            return Err(ValidationError::MetadataTooLarge {
                total,
                max: MetadataLimits::TOTAL_MAX_CHARS,
            });
        }
        Ok(Self {
            values,
            hidden: BTreeSet::new(),
        })
    }

    /// Marks keys as hidden; each must be a key of this metadata.
    pub fn with_hidden<I, S>(mut self, keys: I) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for key in keys {
            let key = key.as_ref();
            if !self.values.contains_key(key) {
                return Err(ValidationError::HiddenKeyUnknown(key.to_string()));
            }
            self.hidden.insert(key.to_string());
        }
        Ok(self)
    }

    /// The metadata as clients may read it: hidden values are left out
    /// unless `reveal` (an admin's explicit request) is set.
    pub fn visible(&self, reveal: bool) -> BTreeMap<String, String> {
        self.values
            .iter()
            .filter(|(k, _)| reveal || !self.hidden.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// True when there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn valid_key(k: &str) -> bool {
    (1..=MetadataLimits::KEY_MAX_CHARS).contains(&k.chars().count())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_flat_object_of_strings() {
        let m = Metadata::parse_json(r#"{"apiKey":"abc123","team.id":"7"}"#).expect("valid");
        assert_eq!(m.values.len(), 2);
    }

    #[test]
    fn refuses_what_breaks_the_rules() {
        type Check = fn(&ValidationError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("[]", |e| matches!(e, ValidationError::MetadataNotObject(_))),
            ("{", |e| matches!(e, ValidationError::MetadataNotObject(_))),
            (r#"{"a":1}"#, |e| {
                matches!(e, ValidationError::MetadataValueNotString { .. })
            }),
            (r#"{"a b":"x"}"#, |e| {
                matches!(e, ValidationError::MetadataKeyInvalid(_))
            }),
            (r#"{"":"x"}"#, |e| {
                matches!(e, ValidationError::MetadataKeyInvalid(_))
            }),
            (r#"{"a":"1","a":"2"}"#, |e| {
                matches!(e, ValidationError::MetadataKeyDuplicate(_))
            }),
        ];
        for (text, check) in cases {
            let err = Metadata::parse_json(text).expect_err(text);
            assert!(check(&err), "{text}: {err}");
        }
        let long_key = format!(r#"{{"{}":"x"}}"#, "k".repeat(65));
        assert!(matches!(
            Metadata::parse_json(&long_key),
            Err(ValidationError::MetadataKeyInvalid(_))
        ));
        let long_value = format!(r#"{{"k":"{}"}}"#, "v".repeat(2001));
        assert!(matches!(
            Metadata::parse_json(&long_value),
            Err(ValidationError::MetadataValueTooLong { .. })
        ));
    }

    #[test]
    fn refuses_more_than_the_total_limit() {
        let map: BTreeMap<String, String> = (0..101)
            .map(|i| (format!("k{i}"), "v".repeat(2000)))
            .collect();
        assert!(matches!(
            Metadata::from_map(map),
            Err(ValidationError::MetadataTooLarge { .. })
        ));
    }

    #[test]
    fn hidden_values_are_write_only() {
        let m = Metadata::parse_json(r#"{"apiKey":"s3cret","team":"x"}"#)
            .and_then(|m| m.with_hidden(["apiKey"]))
            .expect("valid");
        assert_eq!(m.visible(false).len(), 1);
        assert_eq!(
            m.visible(true).get("apiKey").map(String::as_str),
            Some("s3cret")
        );
        assert_eq!(
            Metadata::default().with_hidden(["nope"]),
            Err(ValidationError::HiddenKeyUnknown("nope".into()))
        );
    }
}
