//! SCIM Group ↔ custom group: documents, and PATCH turned into member
//! changes without rendering a large group's member list.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value, json};

use super::GROUP_SCHEMA;
use super::error::{ScimError, ScimType};
use super::patch::{PatchOp, PatchOpKind, no_path_targets};
use super::schema::ResourceKind;
use super::value::get_ci;

/// A Group document (POST or PUT body), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member User ids; `None` when the body has no `members`.
    pub members: Option<Vec<String>>,
}

impl ScimGroupInput {
    /// Reads a Group body; `id`, `meta` and unknown attributes are ignored.
    pub fn from_doc(doc: &Value) -> Result<Self, ScimError> {
        let o = doc
            .as_object()
            .ok_or_else(|| ScimError::invalid_value("a Group must be a JSON object"))?;
        let display_name = match get_ci(o, "displayName") {
            Some(Value::String(s)) => crate::names::group_name(s)?,
            _ => {
                return Err(ScimError::invalid_value(
                    "displayName is required and must be a string",
                ));
            }
        };
        let external_id = match get_ci(o, "externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
        };
        let members = match get_ci(o, "members") {
            None => None,
            Some(v) => Some(member_ids(v)?),
        };
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}

/// One change to a group's member list, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    Clear,
}

/// What a Group PATCH asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    /// `Some(None)` removes the externalId.
    pub external_id: Option<Option<String>>,
    pub members: Vec<MemberChange>,
}

impl GroupPatch {
    /// Interprets PATCH operations on a Group.
    pub fn from_ops(ops: &[PatchOp]) -> Result<Self, ScimError> {
        let mut out = Self::default();
        for op in ops {
            match (&op.path, &op.value) {
                (Some(path), value) => out.apply_path(op.kind, path, value.as_ref())?,
                (None, Some(Value::Object(attrs))) => {
                    for (path, v) in no_path_targets(attrs, ResourceKind::Group) {
                        out.apply_path(op.kind, &path, Some(&v))?;
                    }
                }
                (None, _) => {}
            }
        }
        Ok(out)
    }

    fn apply_path(
        &mut self,
        kind: PatchOpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        match path {
            PatchPath::Attr(a) => {
                if let Some(sub) = &a.sub_attr {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        format!(
                            "\"{}.{sub}\" is not a Group attribute roster can change",
                            a.name
                        ),
                    ));
                }
                self.apply_attr(kind, &a.name, value)
            }
            PatchPath::Value(vp) => {
                if !vp.attr.name.eq_ignore_ascii_case("members") {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        format!("\"{}\" cannot take a [filter] on a Group", vp.attr.name),
                    ));
                }
                if kind != PatchOpKind::Remove {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        "add and replace on members take the path \"members\", not a filtered one",
                    ));
                }
                self.members
                    .push(MemberChange::Remove(filter_values(&vp.filter)?));
                Ok(())
            }
        }
    }

    fn apply_attr(
        &mut self,
        kind: PatchOpKind,
        name: &str,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        match name.to_ascii_lowercase().as_str() {
            "id" | "meta" | "schemas" => Ok(()),
            "displayname" => match (kind, value) {
                (PatchOpKind::Remove, _) => Err(ScimError::bad(
                    ScimType::Mutability,
                    "displayName is required and cannot be removed",
                )),
                (_, Some(Value::String(s))) => {
                    self.display_name = Some(crate::names::group_name(s)?);
                    Ok(())
                }
                _ => Err(ScimError::invalid_value("displayName must be a string")),
            },
            "externalid" => match (kind, value) {
                (PatchOpKind::Remove, _) | (_, Some(Value::Null)) => {
                    self.external_id = Some(None);
                    Ok(())
                }
                (_, Some(Value::String(s))) => {
                    self.external_id = Some(Some(s.clone()));
                    Ok(())
                }
                _ => Err(ScimError::invalid_value("externalId must be a string")),
            },
            "members" => {
                match (kind, value) {
                    (PatchOpKind::Add, Some(v)) => {
                        self.members.push(MemberChange::Add(member_ids(v)?))
                    }
                    (PatchOpKind::Replace, Some(v)) => {
                        self.members.push(MemberChange::Clear);
                        self.members.push(MemberChange::Add(member_ids(v)?));
                    }
                    (PatchOpKind::Remove, Some(v)) => {
                        self.members.push(MemberChange::Remove(member_ids(v)?))
                    }
                    (PatchOpKind::Remove, None) => self.members.push(MemberChange::Clear),
                    (_, None) => return Err(ScimError::invalid_value("members needs a value")),
                }
                Ok(())
            }
            other => Err(ScimError::bad(
                ScimType::InvalidPath,
                format!(
                    "\"{other}\" is not a Group attribute; use displayName, externalId or members"
                ),
            )),
        }
    }
}

/// Member ids from `[{"value": id}, …]`, one object, or bare id strings.
fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|it| match it {
            Value::String(s) => Ok(s.clone()),
            Value::Object(m) => match get_ci(m, "value") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(ScimError::invalid_value(
                    "each member needs a string value (the User's id)",
                )),
            },
            _ => Err(ScimError::invalid_value(
                "each member must be an object with a value",
            )),
        })
        .collect()
}

/// The ids in `members[value eq "a" or value eq "b"]`.
fn filter_values(f: &ValFilter) -> Result<Vec<String>, ScimError> {
    let terms: Vec<&ValFilter> = match f {
        ValFilter::Or(items) => items.as_slice().iter().collect(),
        other => vec![other],
    };
    terms
        .into_iter()
        .map(|t| match t {
            ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                if p.name.eq_ignore_ascii_case("value") && p.sub_attr.is_none() =>
            {
                Ok(v.clone())
            }
            _ => Err(ScimError::bad(
                ScimType::InvalidFilter,
                "members can be removed by members[value eq \"<id>\"] (or several joined by or)",
            )),
        })
        .collect()
}

/// A custom group as the Group renderer needs it.
#[derive(Debug, Clone)]
pub struct ScimGroupView {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: String,
    /// (user id, name); `None` when members were not asked for.
    pub members: Option<Vec<(String, String)>>,
    pub created: String,
    pub last_modified: String,
    pub version: String,
}

impl ScimGroupView {
    /// The Group document.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut doc = json!({
            "schemas": [GROUP_SCHEMA],
            "id": self.id,
            "displayName": self.display_name,
            "meta": {
                "resourceType": "Group",
                "created": self.created,
                "lastModified": self.last_modified,
                "location": format!("{base_url}/Groups/{}", self.id),
                "version": self.version,
            },
        });
        if let Some(x) = &self.external_id {
            doc["externalId"] = Value::String(x.clone());
        }
        if let Some(ms) = &self.members {
            doc["members"] = Value::Array(
                ms.iter()
                    .map(|(id, name)| {
                        let mut m = Map::new();
                        m.insert("value".into(), Value::String(id.clone()));
                        m.insert("display".into(), Value::String(name.clone()));
                        m.insert("type".into(), Value::String("User".into()));
                        m.insert(
                            "$ref".into(),
                            Value::String(format!("{base_url}/Users/{id}")),
                        );
                        Value::Object(m)
                    })
                    .collect(),
            );
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::parse_patch;

    fn patch(body: Value) -> Result<GroupPatch, ScimError> {
        GroupPatch::from_ops(&parse_patch(&body, 100)?)
    }

    #[test]
    fn entra_and_okta_member_changes() {
        let p = patch(json!({"schemas": [crate::scim::PATCH_OP], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members[value eq \"u3\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "u4"}]},
            {"op": "replace", "value": {"id": "g1", "displayName": "Ops Team"}},
        ]}))
        .expect("valid");
        assert_eq!(p.display_name.as_deref(), Some("Ops Team"));
        assert_eq!(
            p.members,
            vec![
                MemberChange::Add(vec!["u1".into(), "u2".into()]),
                MemberChange::Remove(vec!["u3".into()]),
                MemberChange::Remove(vec!["u4".into()]),
            ]
        );
        let r = patch(json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": "u9"}]}]}))
            .expect("valid");
        assert_eq!(
            r.members,
            vec![MemberChange::Clear, MemberChange::Add(vec!["u9".into()])]
        );
    }

    #[test]
    fn refusals_are_precise() {
        let e = patch(
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "admin"}]}),
        )
        .expect_err("reserved");
        assert!(e.detail.contains("role name"), "{}", e.detail);
        let e =
            patch(json!({"Operations": [{"op": "remove", "path": "members[display eq \"x\"]"}]}))
                .expect_err("filter");
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        let e = patch(json!({"Operations": [{"op": "add", "path": "owner", "value": "x"}]}))
            .expect_err("attr");
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }
}
