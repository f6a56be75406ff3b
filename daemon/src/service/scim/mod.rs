//! SCIM use cases: Users and Groups of the workspace a SCIM token selects.
//! The HTTP layer parses and projects; everything here is one read snapshot
//! or one write transaction (with audit events and, where due, invite mail).

pub mod cursors;
pub mod groups;
pub mod render;
pub mod users;

use roster_shared::scim::{Projection, ResourceKind, ScimError, ScimFilter, sort};
use serde_json::Value;
use uuid::Uuid;

use super::{Actor, Services};
use crate::error::ServiceError;

/// Who is provisioning which workspace: from the SCIM token.
#[derive(Debug, Clone)]
pub struct ScimScope {
    pub workspace: String,
    /// The workspace's id, so that reads need not resolve the slug.
    pub workspace_id: Uuid,
    pub actor: Actor,
}

/// A list or `.search` request, already parsed and bounded.
#[derive(Debug, Clone)]
pub struct ScimQuery {
    pub filter: Option<ScimFilter>,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// 1-based (at least 1).
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

impl ScimQuery {
    /// Applies `attributes`/`excludedAttributes` to one document.
    pub fn project(&self, mut doc: Value, kind: ResourceKind) -> Value {
        self.projection.apply(&mut doc, kind);
        doc
    }
}

/// Sorts (if asked), then cuts one projected page out of all matching
/// documents.
pub fn page(docs: Vec<Value>, q: &ScimQuery, kind: ResourceKind) -> ScimPage {
    let docs = match &q.sort_by {
        Some(by) => sort::sorted(docs, by, q.descending),
        None => docs,
    };
    ScimPage {
        total: docs.len(),
        start_index: q.start_index,
        resources: docs
            .into_iter()
            .skip(q.start_index - 1)
            .take(q.count)
            .map(|d| q.project(d, kind))
            .collect(),
    }
}

/// (change kind, target) pairs for the event stream.
pub type Events = Vec<(&'static str, String)>;

/// A committed write: the document to answer with and what to announce.
pub struct Written {
    pub workspace: String,
    pub doc: Value,
    pub events: Events,
    pub mailed: bool,
}

impl Services {
    /// Announces a committed SCIM write and hands back its document.
    fn announce(&self, w: Written) -> Value {
        for (kind, target) in &w.events {
            self.publish(&w.workspace, kind, target);
        }
        if w.mailed {
            self.wake_mailer();
        }
        w.doc
    }
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

/// Refuses a write whose `If-Match` names another version (weak and strong
/// forms of a tag match alike; `*` matches any).
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ServiceError> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let tag = |t: &str| t.trim().trim_start_matches("W/").to_string();
    if wanted
        .split(',')
        .any(|w| w.trim() == "*" || tag(w) == tag(current))
    {
        Ok(())
    } else {
        Err(ServiceError::PreconditionFailed(format!(
            "the resource changed: If-Match {wanted} but the current version is {current}; read it again"
        )))
    }
}
