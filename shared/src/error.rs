//! The one error type for rejected input, shared by every front-end.

use thiserror::Error;

/// Why a piece of user or client input was refused.
///
/// Each message is a complete sentence a person can act on; front-ends show
/// it as it is (CLI line, admin-API `message`, SCIM `detail`, CSV report).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("e-mail address is empty")]
    EmailEmpty,
    #[error("e-mail address \"{0}\" is not valid")]
    EmailInvalid(String),
    #[error("e-mail address is longer than {max} characters")]
    EmailTooLong { max: usize },
    #[error("name is empty")]
    NameEmpty,
    #[error("name is longer than {max} characters")]
    NameTooLong { max: usize },
    #[error("name must not contain control characters")]
    NameControlChars,
    #[error("unknown role \"{0}\": use admin, builder or end-user")]
    RoleUnknown(String),
    #[error("unknown status \"{0}\": use requested, invited, active or archived")]
    StatusUnknown(String),
    #[error("group name is empty")]
    GroupEmpty,
    #[error("group name is longer than {max} characters")]
    GroupTooLong { max: usize },
    #[error("\"{0}\" is a role name and cannot be used as a group name")]
    GroupReserved(String),
    #[error("group \"{0}\" is listed twice")]
    GroupDuplicate(String),
    #[error(
        "workspace slug \"{0}\" is not valid: use 1-40 lowercase letters, digits and dashes, starting with a letter or digit"
    )]
    SlugInvalid(String),
    #[error("metadata must be a JSON object of string keys to string values: {0}")]
    MetadataNotObject(String),
    #[error("metadata key \"{0}\" is not valid: use 1-64 characters from A-Z a-z 0-9 _ . -")]
    MetadataKeyInvalid(String),
    #[error("metadata value of \"{key}\" is not a string")]
    MetadataValueNotString { key: String },
    #[error("metadata value of \"{key}\" is longer than {max} characters")]
    MetadataValueTooLong { key: String, max: usize },
    #[error("metadata is {total} characters in all, more than the limit of {max}")]
    MetadataTooLarge { total: usize, max: usize },
    #[error("metadata key \"{0}\" appears twice")]
    MetadataKeyDuplicate(String),
    #[error("hidden key \"{0}\" is not a metadata key of this member")]
    HiddenKeyUnknown(String),
}
