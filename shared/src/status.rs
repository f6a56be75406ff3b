//! Membership status: what is stored, and what each status model shows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// What the store keeps. `requested` and `invited` are one stored state
/// (`Pending`) told apart by whether the account has been activated, so that
/// activating an account anywhere changes its other memberships' display at
/// once without rewriting them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoredStatus {
    Pending,
    Active,
    Archived,
}

impl StoredStatus {
    /// A compact code for index keys.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A membership's status as people and clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberStatus {
    /// Invited, and the e-mail has no activated account yet.
    Requested,
    /// Invited, and the account is already active elsewhere.
    Invited,
    /// Accepted the invite, or provisioned active.
    Active,
    /// Switched off by an admin or an identity provider.
    Archived,
}

impl MemberStatus {
    /// Canonical lowercase spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Requested => "requested",
            MemberStatus::Invited => "invited",
            MemberStatus::Active => "active",
            MemberStatus::Archived => "archived",
        }
    }

    /// The status shown for a stored state under a status model.
    pub fn shown(stored: StoredStatus, account_activated: bool, model: StatusModel) -> Self {
        match stored {
            StoredStatus::Active => MemberStatus::Active,
            StoredStatus::Archived => MemberStatus::Archived,
            StoredStatus::Pending => match model {
                StatusModel::SelfHosted => MemberStatus::Invited,
                StatusModel::Cloud if account_activated => MemberStatus::Invited,
                StatusModel::Cloud => MemberStatus::Requested,
            },
        }
    }

    /// The stored state a filter on this status selects, and (for the two
    /// pending states under the cloud model) which accounts it keeps:
    /// `Some(true)` only activated accounts, `Some(false)` only the others.
    pub fn filter(self, model: StatusModel) -> (StoredStatus, Option<bool>) {
        match (self, model) {
            (MemberStatus::Active, _) => (StoredStatus::Active, None),
            (MemberStatus::Archived, _) => (StoredStatus::Archived, None),
            (MemberStatus::Requested | MemberStatus::Invited, StatusModel::SelfHosted) => {
                (StoredStatus::Pending, None)
            }
            (MemberStatus::Requested, StatusModel::Cloud) => (StoredStatus::Pending, Some(false)),
            (MemberStatus::Invited, StatusModel::Cloud) => (StoredStatus::Pending, Some(true)),
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "requested" => Ok(MemberStatus::Requested),
            "invited" => Ok(MemberStatus::Invited),
            "active" => Ok(MemberStatus::Active),
            "archived" => Ok(MemberStatus::Archived),
            _ => Err(ValidationError::StatusUnknown(s.trim().to_string())),
        }
    }
}

/// How pending memberships are shown: self-hosted ToolJet shows every one as
/// `invited`; the cloud model tells `requested` (no activated account) apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusModel {
    #[default]
    SelfHosted,
    Cloud,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_models() {
        use MemberStatus as M;
        use StatusModel::*;
        use StoredStatus as S;
        let table = [
            (S::Pending, false, SelfHosted, M::Invited),
            (S::Pending, true, SelfHosted, M::Invited),
            (S::Pending, false, Cloud, M::Requested),
            (S::Pending, true, Cloud, M::Invited),
            (S::Active, true, Cloud, M::Active),
            (S::Archived, false, SelfHosted, M::Archived),
        ];
        for (stored, activated, model, shown) in table {
            assert_eq!(M::shown(stored, activated, model), shown);
            let (s, acc) = shown.filter(model);
            assert_eq!(s, stored);
            if let Some(want) = acc {
                assert_eq!(want, activated);
            }
        }
    }

    #[test]
    fn parses() {
        assert_eq!(
            "Archived".parse::<MemberStatus>(),
            Ok(MemberStatus::Archived)
        );
        assert!("gone".parse::<MemberStatus>().is_err());
    }
}
