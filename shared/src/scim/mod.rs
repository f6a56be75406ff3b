//! SCIM 2.0 (RFC 7643/7644) as roster speaks it: schemas, errors, filters,
//! PATCH operations and the mapping of Users and Groups onto the domain.
//!
//! Everything here works on `serde_json::Value` documents, because identity
//! providers send shapes no typed model anticipates (keys in any case, URN-
//! qualified keys, booleans as strings); the mapping modules turn a tolerated
//! document into validated domain input in one place.

pub mod body;
pub mod error;
pub mod filter;
mod filter_shapes;
mod filter_sub_attr;
mod filter_types;
pub mod group;
mod parse_error;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod sort;
pub mod user;
pub mod value;

pub use error::{ScimError, ScimType};
pub use filter::{FilterLimits, Lookup, ScimFilter};
pub use patch::{PatchOp, PatchOpKind, parse_patch};
pub use projection::Projection;
pub use schema::ResourceKind;

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ToolJet's User extension, so IdP apps set up for ToolJet work unchanged.
pub const TOOLJET_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:tooljet:User:2.0";
/// roster's own User extension: metadata and the invite status.
pub const ROSTER_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
/// List responses.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PATCH requests.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `POST /.search` requests.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Error bodies.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The media type every SCIM answer carries.
pub const CONTENT_TYPE: &str = "application/scim+json";
