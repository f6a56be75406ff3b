//! Types and rules that `rosterd` and `roster` both speak.
//!
//! Everything here is pure (no I/O) so that the daemon, the CLI, the TUI and
//! later the SCIM and CSV front-ends validate input with one rule set.

pub mod api;
pub mod email;
pub mod error;
pub mod metadata;
pub mod names;
pub mod role;
pub mod scim;
pub mod status;
pub mod strict_json;

pub use email::Email;
pub use error::ValidationError;
pub use metadata::{Metadata, MetadataLimits};
pub use role::Role;
pub use status::{MemberStatus, StatusModel, StoredStatus};
