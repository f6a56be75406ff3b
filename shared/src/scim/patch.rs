//! PATCH (RFC 7644 §3.5.2), applied to a resource's JSON document so that
//! every operation of a request succeeds or none does: the caller maps the
//! patched document back to the domain only when all operations applied.
//!
//! Tolerated as IdPs send it: op names in any case, `Operations` in any
//! case, no-path values with dotted or URN-qualified keys, `add`/`replace`
//! on a filtered path that matches nothing (the entry is created from the
//! filter's `eq` terms), and `remove` of multi-valued entries by value list.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::element_matches;
use super::schema::{Mutability, ResourceKind};
use super::value::{get_ci, get_ci_mut, remove_ci, set_ci};

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub kind: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a PATCH body: `{"schemas": [...PatchOp], "Operations": [...]}`.
pub fn parse_patch(body: &Value, max_operations: usize) -> Result<Vec<PatchOp>, ScimError> {
    let obj = body.as_object().ok_or_else(|| {
        ScimError::bad(
            ScimType::InvalidSyntax,
            "a PATCH body must be a JSON object",
        )
    })?;
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::bad(
                ScimType::InvalidSyntax,
                "a PATCH body needs an \"Operations\" array",
            )
        })?;
    if ops.is_empty() {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "\"Operations\" is empty",
        ));
    }
    if ops.len() > max_operations {
        return Err(ScimError::new(
            413,
            Some(ScimType::TooMany),
            format!(
                "{} operations in one PATCH; the limit is {max_operations}",
                ops.len()
            ),
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect()
}

fn parse_op(i: usize, op: &Value) -> Result<PatchOp, ScimError> {
    let n = i + 1;
    let o = op.as_object().ok_or_else(|| {
        ScimError::bad(
            ScimType::InvalidSyntax,
            format!("operation {n} is not an object"),
        )
    })?;
    let name = get_ci(o, "op").and_then(Value::as_str).unwrap_or_default();
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => PatchOpKind::Add,
        "replace" => PatchOpKind::Replace,
        "remove" => PatchOpKind::Remove,
        _ => {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!("operation {n} has op {name:?}; use add, replace or remove"),
            ));
        }
    };
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.trim().parse::<PatchPath>().map_err(|e| {
            ScimError::bad(
                ScimType::InvalidPath,
                format!(
                    "operation {n} has path {p:?}, which is not a valid attribute path: {}",
                    super::parse_error::explain(p.trim(), &e)
                ),
            )
        })?),
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidPath,
                format!("operation {n} has a path that is not a string"),
            ));
        }
    };
    let value = get_ci(o, "value").filter(|v| !v.is_null()).cloned();
    match (kind, &path, &value) {
        (PatchOpKind::Remove, None, _) => Err(ScimError::bad(
            ScimType::NoTarget,
            format!("operation {n} is a remove without a path"),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("operation {n} ({name}) has no value"),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("operation {n} has no path, so its value must be an object of attributes"),
            ))
        }
        _ => Ok(PatchOp { kind, path, value }),
    }
}

/// Applies operations in order to a resource document.
pub fn apply(doc: &mut Value, ops: &[PatchOp], kind: ResourceKind) -> Result<(), ScimError> {
    for op in ops {
        match (&op.path, &op.value) {
            (Some(path), value) => apply_path(doc, op.kind, path, value.as_ref(), kind)?,
            (None, Some(Value::Object(attrs))) => {
                for (path, v) in no_path_targets(attrs, kind) {
                    apply_path(doc, op.kind, &path, Some(&v), kind)?;
                }
            }
            (None, _) => {}
        }
    }
    Ok(())
}

/// The paths a no-path operation's value object targets, with their values.
/// Keys that are not attribute paths are left out.
pub fn no_path_targets(attrs: &Map<String, Value>, kind: ResourceKind) -> Vec<(PatchPath, Value)> {
    attrs
        .iter()
        .flat_map(|(key, v)| expand_key(key, v, kind))
        .collect()
}

/// Splits a no-path value key into paths: an extension URN whose value is
/// an object, `urn:...:attr[.sub]`, `attr.sub`, or a plain attribute.
fn expand_key(key: &str, v: &Value, kind: ResourceKind) -> Vec<(PatchPath, Value)> {
    let schemas = std::iter::once(kind.core()).chain(kind.accepted_extensions().iter().copied());
    for s in schemas {
        if key.eq_ignore_ascii_case(s.id) {
            return match v.as_object() {
                Some(o) => o
                    .iter()
                    .filter_map(|(k, v)| {
                        let p = parse_attr(&format!("{}:{k}", s.id))?;
                        Some((p, v.clone()))
                    })
                    .collect(),
                None => Vec::new(),
            };
        }
    }
    parse_attr(key)
        .map(|p| vec![(p, v.clone())])
        .unwrap_or_default()
}

fn parse_attr(text: &str) -> Option<PatchPath> {
    text.parse::<PatchPath>().ok()
}

/// `id`, `meta` and `schemas` in a body are ignored (RFC 7644 §3.5.2 read-only).
fn is_ignored(path: &PatchPath) -> bool {
    let attr = path_attr(path);
    ["id", "meta", "schemas"]
        .iter()
        .any(|n| attr.name.eq_ignore_ascii_case(n))
}

fn path_attr(path: &PatchPath) -> &AttrPath {
    match path {
        PatchPath::Attr(a) => a,
        PatchPath::Value(v) => &v.attr,
    }
}

fn apply_path(
    doc: &mut Value,
    op: PatchOpKind,
    path: &PatchPath,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    let attr = path_attr(path);
    if is_ignored(path) {
        return Ok(());
    }
    if let (PatchPath::Attr(a), None) = (path, &attr.sub_attr)
        && let Some(uri) = &a.uri
        && let Some(ext) = kind
            .accepted_extensions()
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&format!("{uri}:{}", a.name)))
    {
        return apply_whole_extension(doc, op, ext.id, value, kind);
    }
    if let Some(def) = kind.attr(attr.uri.as_deref(), &attr.name)
        && def.mutability == Mutability::ReadOnly
    {
        return Err(ScimError::bad(
            ScimType::Mutability,
            format!("\"{}\" is read-only", attr.name),
        ));
    }
    let Some(container) = container(doc, attr.uri.as_deref(), kind, op != PatchOpKind::Remove)?
    else {
        return Ok(());
    };
    match path {
        PatchPath::Attr(a) => apply_attr(container, op, a, value),
        PatchPath::Value(vp) => apply_filtered(container, op, vp, value, kind),
    }
}

/// `path` naming a whole extension: add/replace merge its attributes,
/// remove drops it.
fn apply_whole_extension(
    doc: &mut Value,
    op: PatchOpKind,
    urn: &str,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    let Some(root) = doc.as_object_mut() else {
        return Err(ScimError::invalid_value("the resource is not an object"));
    };
    if op == PatchOpKind::Remove {
        remove_ci(root, urn);
        return Ok(());
    }
    let Some(Value::Object(attrs)) = value else {
        return Err(ScimError::invalid_value(format!(
            "the value for \"{urn}\" must be an object"
        )));
    };
    for (k, v) in attrs {
        if let Some(p) = parse_attr(&format!("{urn}:{k}")) {
            apply_path(doc, op, &p, Some(v), kind)?;
        }
    }
    Ok(())
}

/// The object holding an attribute: the document, or an extension object
/// (created when adding).
fn container<'a>(
    doc: &'a mut Value,
    uri: Option<&str>,
    kind: ResourceKind,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, ScimError> {
    let Some(root) = doc.as_object_mut() else {
        return Err(ScimError::invalid_value("the resource is not an object"));
    };
    let Some(uri) = uri.filter(|u| !u.eq_ignore_ascii_case(kind.core().id)) else {
        return Ok(Some(root));
    };
    let Some(schema) = kind
        .accepted_extensions()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(uri))
    else {
        return Err(ScimError::bad(
            ScimType::InvalidPath,
            format!("\"{uri}\" is not a schema of {}", kind.name()),
        ));
    };
    if get_ci(root, schema.id).is_none() {
        if !create {
            return Ok(None);
        }
        root.insert(schema.id.to_string(), Value::Object(Map::new()));
    }
    match get_ci_mut(root, schema.id) {
        Some(Value::Object(o)) => Ok(Some(o)),
        _ => Err(ScimError::invalid_value(format!(
            "\"{uri}\" must be an object"
        ))),
    }
}

fn apply_attr(
    obj: &mut Map<String, Value>,
    op: PatchOpKind,
    a: &AttrPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (op, &a.sub_attr, value) {
        (PatchOpKind::Remove, None, Some(Value::Array(items)))
            if items.iter().all(Value::is_object) =>
        {
            // Remove listed entries of a multi-valued attribute (Entra's group member removal).
            if let Some(Value::Array(existing)) = get_ci_mut(obj, &a.name) {
                existing.retain(|el| !items.iter().any(|it| same_entry(el, it)));
            }
            Ok(())
        }
        (PatchOpKind::Remove, None, _) => {
            remove_ci(obj, &a.name);
            Ok(())
        }
        (PatchOpKind::Remove, Some(sub), _) => {
            match get_ci_mut(obj, &a.name) {
                Some(Value::Object(o)) => {
                    remove_ci(o, sub);
                }
                Some(Value::Array(items)) => {
                    for el in items.iter_mut().filter_map(Value::as_object_mut) {
                        remove_ci(el, sub);
                    }
                }
                _ => {}
            }
            Ok(())
        }
        (_, None, Some(v)) => {
            match (op, get_ci_mut(obj, &a.name), v) {
                (PatchOpKind::Add, Some(Value::Array(existing)), new) => {
                    let items: Vec<Value> = match new {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    for it in items {
                        if !existing.iter().any(|e| same_entry(e, &it)) {
                            existing.push(it);
                        }
                    }
                }
                (_, Some(Value::Object(existing)), Value::Object(new)) => {
                    for (k, v) in new {
                        set_ci(existing, k, v.clone());
                    }
                }
                _ => set_ci(obj, &a.name, v.clone()),
            }
            Ok(())
        }
        (_, Some(sub), Some(v)) => {
            match get_ci_mut(obj, &a.name) {
                Some(Value::Object(o)) => set_ci(o, sub, v.clone()),
                Some(Value::Array(items)) if !items.is_empty() => {
                    for el in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_ci(el, sub, v.clone());
                    }
                }
                _ => {
                    let mut o = Map::new();
                    o.insert(sub.clone(), v.clone());
                    set_ci(obj, &a.name, Value::Object(o));
                }
            }
            Ok(())
        }
        (_, _, None) => Err(ScimError::invalid_value("the operation has no value")),
    }
}

/// Two entries of a multi-valued attribute are the same when their `value`
/// sub-attributes are (or, for plain values, when they are equal).
fn same_entry(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(v1), Some(v2)) => v1 == v2,
            _ => a == b,
        },
        _ => a == b,
    }
}

fn apply_filtered(
    obj: &mut Map<String, Value>,
    op: PatchOpKind,
    vp: &scim_v2::filter::PatchValuePath,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    super::filter_types::check_patch_filter(vp, kind)?;
    let uri = vp.attr.uri.clone();
    let name = vp.attr.name.clone();
    if get_ci(obj, &name).is_none() {
        if op == PatchOpKind::Remove {
            return Ok(());
        }
        set_ci(obj, &name, Value::Array(Vec::new()));
    }
    let Some(Value::Array(items)) = get_ci_mut(obj, &name) else {
        return Err(ScimError::bad(
            ScimType::InvalidPath,
            format!("\"{name}\" is not multi-valued, so it cannot take a [filter]"),
        ));
    };
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, el)| element_matches(&vp.filter, el, kind, uri.as_deref(), &name))
        .map(|(i, _)| i)
        .collect();
    match op {
        PatchOpKind::Remove => {
            match &vp.sub_attr {
                Some(sub) => {
                    for &i in &hits {
                        if let Some(o) = items[i].as_object_mut() {
                            remove_ci(o, sub);
                        }
                    }
                }
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !hits.contains(&i);
                        i += 1;
                        keep
                    });
                }
            }
            Ok(())
        }
        PatchOpKind::Add | PatchOpKind::Replace => {
            let v = value.ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
            let targets = if hits.is_empty() {
                let seed = seed_from_filter(&vp.filter).ok_or_else(|| {
                    ScimError::bad(
                        ScimType::NoTarget,
                        format!("no \"{name}\" entry matches the path's filter, and the filter does not say which entry to create (use eq terms joined by and)"),
                    )
                })?;
                items.push(Value::Object(seed));
                vec![items.len() - 1]
            } else {
                hits
            };
            for i in targets {
                let Some(el) = items[i].as_object_mut() else {
                    continue;
                };
                match (&vp.sub_attr, v) {
                    (Some(sub), v) => set_ci(el, sub, v.clone()),
                    // Merged rather than swapped, so `emails[type eq "work"]`
                    // replaced with `{"value": …}` keeps its type.
                    (None, Value::Object(new)) => {
                        for (k, nv) in new {
                            set_ci(el, k, nv.clone());
                        }
                    }
                    (None, _) => {
                        return Err(ScimError::invalid_value(format!(
                            "the value for \"{name}[...]\" must be an object"
                        )));
                    }
                }
            }
            Ok(())
        }
    }
}

/// The entry a filter like `type eq "work" and primary eq true` describes.
fn seed_from_filter(f: &ValFilter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let terms: Vec<&ValFilter> = match f {
        ValFilter::And(items) => items.as_slice().iter().collect(),
        other => vec![other],
    };
    for t in terms {
        let ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) = t else {
            return None;
        };
        let v = match v {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::True => Value::Bool(true),
            CompValue::False => Value::Bool(false),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(p.name.clone(), v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::{ENTERPRISE_USER_SCHEMA, PATCH_OP, ROSTER_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "id": "u1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        })
    }

    fn patched(ops: Value) -> Result<Value, ScimError> {
        let mut doc = user();
        let ops = parse_patch(&json!({"schemas": [PATCH_OP], "Operations": ops}), 100)?;
        apply(&mut doc, &ops, ResourceKind::User)?;
        Ok(doc)
    }

    #[test]
    fn entra_style_operations() {
        let doc = patched(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "name.givenName", "value": "Babs"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
            {"op": "add", "path": "emails[type eq \"home\"].value", "value": "home@example.org"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-1"},
            {"op": "add", "path": "emails[primary eq \"True\"].display", "value": "Babs at work"},
            {"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "admin"},
        ]))
        .expect("applies");
        assert_eq!(doc["active"], "False", "the mapping reads string booleans");
        assert_eq!(doc["name"]["givenName"], "Babs");
        assert_eq!(doc["name"]["familyName"], "Jensen");
        assert_eq!(
            doc["emails"],
            json!([
                {"value": "babs@example.com", "type": "work", "primary": true, "display": "Babs at work"},
                {"type": "home", "value": "home@example.org"}
            ])
        );
        assert_eq!(doc[ENTERPRISE_USER_SCHEMA]["manager"], "m-1");
        assert_eq!(
            doc["roles"],
            json!([{"primary": "True", "value": "admin"}]),
            "Entra's app-role assignment creates the primary role"
        );
    }

    #[test]
    fn no_path_values_with_dotted_and_urn_keys() {
        let doc = patched(json!([{"op": "replace", "value": {
            "id": "ignored",
            "meta": {"version": "x"},
            "name.familyName": "Smith",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
            ENTERPRISE_USER_SCHEMA: {"costCenter": "42"},
            "displayName": "B. Smith",
            "Active": false,
        }}]))
        .expect("applies");
        assert_eq!(doc["id"], "u1");
        assert_eq!(doc["name"]["familyName"], "Smith");
        assert_eq!(doc[ENTERPRISE_USER_SCHEMA]["department"], "Ops");
        assert_eq!(doc[ENTERPRISE_USER_SCHEMA]["costCenter"], "42");
        assert_eq!(doc["displayName"], "B. Smith");
        assert_eq!(
            doc["active"], false,
            "existing key matched case-insensitively"
        );
        assert!(doc.get("Active").is_none());
    }

    #[test]
    fn removals() {
        let doc = patched(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "emails[type eq \"work\"]"},
            {"op": "remove", "path": "title"},
        ]))
        .expect("applies");
        assert!(doc["name"].get("givenName").is_none());
        assert_eq!(doc["emails"], json!([]));
        let doc = patched(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:roster:2.0:User:metadata",
            "value": [{"key": "team", "value": "blue"}]}]))
        .expect("applies");
        assert_eq!(doc[ROSTER_USER_SCHEMA]["metadata"][0]["key"], "team");
    }

    #[test]
    fn refusals_change_nothing_and_say_why() {
        let cases = [
            (json!([{"op": "remove"}]), ScimType::NoTarget),
            (
                json!([{"op": "add", "path": "title"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "move", "path": "title", "value": 1}]),
                ScimType::InvalidSyntax,
            ),
            (
                json!([{"op": "add", "path": "emails[type eq", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "groups", "value": []}]),
                ScimType::Mutability,
            ),
            (
                json!([{"op": "add", "path": "urn:example:bogus:attr", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "add", "value": "not an object"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "replace", "path": "emails[primary gt true].value", "value": "a@b.co"}]),
                ScimType::InvalidFilter,
            ),
            (
                json!([{"op": "remove", "path": "emails[primary eq \"maybe\"]"}]),
                ScimType::InvalidFilter,
            ),
        ];
        for (ops, want) in cases {
            let e = patched(ops.clone()).expect_err(&ops.to_string());
            assert_eq!(e.scim_type, Some(want), "{ops}: {}", e.detail);
        }
        let e = parse_patch(&json!({"Operations": []}), 10).expect_err("empty");
        assert!(e.detail.contains("empty"));
        let many: Vec<Value> = (0..11)
            .map(|_| json!({"op": "add", "path": "title", "value": "x"}))
            .collect();
        assert_eq!(
            parse_patch(&json!({"Operations": many}), 10)
                .expect_err("too many")
                .status,
            413
        );
    }
}
