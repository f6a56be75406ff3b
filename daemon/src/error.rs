//! The daemon's one domain error, which every surface maps to its own shape.

use roster_shared::ValidationError;
use thiserror::Error;

/// Why a use case did not happen. Messages are single sentences meant for
/// the person or client that asked; `Storage` carries detail for the log only.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A unique name or address is already used (e-mail in a workspace,
    /// group name, externalId): SCIM answers it as `uniqueness`.
    #[error("{0}")]
    Taken(String),
    #[error("{0}")]
    LastAdmin(String),
    #[error("{0}")]
    Unauthorized(String),
    /// A SCIM-specific refusal (its status and scimType are kept).
    #[error("{0}")]
    Scim(#[from] roster_shared::scim::ScimError),
    /// `If-Match` named a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A request body over a configured limit.
    #[error("{0}")]
    TooLarge(String),
    #[error("storage failure: {0}")]
    Storage(String),
}

impl ServiceError {
    /// Wraps any storage-layer failure; the detail is logged, never shown.
    pub fn storage(e: impl std::fmt::Display) -> Self {
        ServiceError::Storage(e.to_string())
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ServiceError {
            fn from(e: $t) -> Self { ServiceError::storage(e) }
        }
    )*};
}
storage_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);
