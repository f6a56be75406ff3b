//! The one role every membership has.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// What a member may do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Builder,
    EndUser,
}

impl Role {
    /// Every role, in the order they are shown.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Builder, Role::EndUser];

    /// The canonical spelling used by the API, CLI and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Builder => "builder",
            Role::EndUser => "end-user",
        }
    }

    /// ToolJet's display spelling (`Admin`, `Builder`, `End User`).
    pub fn title(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Builder => "Builder",
            Role::EndUser => "End User",
        }
    }

    /// Parses any spelling a person or a ToolJet file uses: case-insensitive,
    /// `end-user`, `end user`, `end_user` and `enduser` alike.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let folded: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "admin" => Ok(Role::Admin),
            "builder" => Ok(Role::Builder),
            "enduser" => Ok(Role::EndUser),
            _ => Err(ValidationError::RoleUnknown(raw.trim().to_string())),
        }
    }

    /// A compact code for index keys.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Role::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        for (raw, role) in [
            ("admin", Role::Admin),
            ("Admin", Role::Admin),
            (" BUILDER ", Role::Builder),
            ("end-user", Role::EndUser),
            ("End User", Role::EndUser),
            ("end_user", Role::EndUser),
        ] {
            assert_eq!(Role::parse(raw), Ok(role), "{raw}");
        }
        assert_eq!(
            Role::parse("owner"),
            Err(ValidationError::RoleUnknown("owner".into()))
        );
    }

    #[test]
    fn round_trips_through_json() {
        let json = serde_json::to_string(&Role::EndUser).expect("serialise");
        assert_eq!(json, "\"end-user\"");
        let back: Role = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, Role::EndUser);
    }
}
