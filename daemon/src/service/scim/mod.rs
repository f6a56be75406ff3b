//! SCIM use cases: Users and Groups of the workspace a SCIM token selects.
//! The HTTP layer parses and projects; everything here is one read snapshot
//! or one write transaction (with audit events and, where due, invite mail).

pub mod groups;
pub mod render;
pub mod users;

use roster_shared::scim::{Projection, ScimError, ScimFilter};
use serde_json::Value;
use uuid::Uuid;

use super::Actor;
use crate::error::ServiceError;

/// Who is provisioning which workspace: from the SCIM token.
#[derive(Debug, Clone)]
pub struct ScimScope {
    pub workspace: String,
    pub actor: Actor,
}

/// A list or `.search` request, already parsed and bounded.
#[derive(Debug, Clone)]
pub struct ScimQuery {
    pub filter: Option<ScimFilter>,
    /// Whether the filter mentions an attribute that only a full document
    /// has (for Groups: `members`).
    pub filter_needs_members: bool,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ScimPage {
    pub total: usize,
    pub start_index: usize,
    pub resources: Vec<Value>,
}

/// A resource id from a URL: roster's ids are UUIDs, anything else is a
/// resource that does not exist.
pub fn parse_id(kind: &str, raw: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| ScimError::not_found(format!("{kind} {raw} not found")).into())
}

/// Refuses a write whose `If-Match` names another version.
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ServiceError> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let matches = wanted.split(',').map(str::trim).any(|w| {
        w == "*" || w == current || w.trim_start_matches("W/") == current.trim_start_matches("W/")
    });
    if matches {
        Ok(())
    } else {
        Err(ServiceError::PreconditionFailed(format!(
            "the resource changed: If-Match {wanted} but the current version is {current}; read it again"
        )))
    }
}

/// Sorts documents by an attribute path (RFC 7644 §3.4.2.3): missing
/// values last in ascending order, string comparisons case-insensitive.
pub fn sort_docs(docs: &mut [Value], sort_by: &str, descending: bool) {
    let key = |d: &Value| -> Option<String> {
        let mut cur = d;
        let (uri_obj, path) = match sort_by.rfind(':') {
            Some(i) if sort_by.to_ascii_lowercase().starts_with("urn:") => {
                let uri = &sort_by[..i];
                let o = d.as_object()?;
                let ext = roster_shared::scim::value::get_ci(o, uri);
                (ext.or(Some(d)), &sort_by[i + 1..])
            }
            _ => (Some(d), sort_by),
        };
        cur = uri_obj.unwrap_or(cur);
        for part in path.split('.') {
            cur = match cur {
                Value::Array(items) => {
                    let primary = items
                        .iter()
                        .find(|x| x.get("primary") == Some(&Value::Bool(true)))
                        .or(items.first())?;
                    roster_shared::scim::value::get_ci(primary.as_object()?, part)?
                }
                Value::Object(o) => roster_shared::scim::value::get_ci(o, part)?,
                _ => return None,
            };
        }
        if let Value::Array(items) = cur {
            cur = items.first()?;
            if let Value::Object(o) = cur {
                cur = roster_shared::scim::value::get_ci(o, "value")?;
            }
        }
        Some(match cur {
            Value::String(s) => s.to_lowercase(),
            other => other.to_string(),
        })
    };
    docs.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let ord = match (&ka, &kb) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        if descending { ord.reverse() } else { ord }
    });
}
