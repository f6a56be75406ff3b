//! E-mail addresses: the identity of an account.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// Longest address accepted (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// A syntactically valid e-mail address, stored as the person gave it.
///
/// Two addresses are the same account when their [`Email::key`]s are equal:
/// trimmed and compared case-insensitively, as the SPEC requires.
#[derive(Debug, Clone)]
pub struct Email {
    given: String,
    key: String,
}

impl Email {
    /// Validates `raw` (surrounding white space is trimmed first).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let given = raw.trim();
        if given.is_empty() {
            return Err(ValidationError::EmailEmpty);
        }
        if given.chars().count() > EMAIL_MAX_CHARS {
            return Err(ValidationError::EmailTooLong {
                max: EMAIL_MAX_CHARS,
            });
        }
        let valid = email_address::EmailAddress::parse_with_options(
            given,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .is_ok()
            && given.contains('@')
            && !given.chars().any(char::is_whitespace);
        if !valid {
            return Err(ValidationError::EmailInvalid(given.to_string()));
        }
        Ok(Self {
            given: given.to_string(),
            key: Self::key_of(given),
        })
    }

    /// The case-insensitive lookup key of any text that may be an address.
    pub fn key_of(raw: &str) -> String {
        raw.trim().to_lowercase()
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.given
    }

    /// The lookup key: trimmed and lower-cased.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Email {}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.given)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.given)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(e.key(), "ada.lovelace@example.com");
        assert_eq!(e, Email::parse("ada.lovelace@example.com").expect("valid"));
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@@b.com",
            "Ada <a@b.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            Email::parse(&long),
            Err(ValidationError::EmailTooLong {
                max: EMAIL_MAX_CHARS
            })
        );
    }
}
