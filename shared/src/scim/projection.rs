//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), applied to a
//! rendered document.

use serde_json::{Map, Value};

use super::schema::ResourceKind;
use super::value::key_ci;

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Projection {
    /// From the comma-separated query parameters.
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        Self {
            attributes: split(attributes),
            excluded: split(excluded),
        }
    }

    /// Whether an attribute (by name, any case) will be in the response;
    /// lets the service skip work such as listing a group's members.
    pub fn wants(&self, name: &str) -> bool {
        let hit = |p: &String| {
            let (_, attr) = split_urn(p);
            attr.split('.')
                .next()
                .is_some_and(|a| a.eq_ignore_ascii_case(name))
        };
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(hit);
        }
        !self.excluded.iter().any(hit)
    }

    /// Whether the request chose what the answer carries (RFC 7644 §3.5.2:
    /// then a PATCH must answer 200 with those attributes).
    pub fn is_chosen(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded.is_empty()
    }

    /// Applies the projection to a document.
    pub fn apply(&self, doc: &mut Value, kind: ResourceKind) {
        let Some(obj) = doc.as_object_mut() else {
            return;
        };
        if !self.attributes.is_empty() {
            let mut keep = Map::new();
            for always in ["schemas", "id"] {
                if let Some(v) = obj.get(always) {
                    keep.insert(always.into(), v.clone());
                }
            }
            for p in &self.attributes {
                copy_path(obj, &mut keep, p, kind);
            }
            *obj = keep;
        } else {
            for p in &self.excluded {
                remove_path(obj, p, kind);
            }
        }
    }
}

/// `urn:…:User:name.givenName` → (Some(urn), "name.givenName").
pub(crate) fn split_urn(p: &str) -> (Option<&str>, &str) {
    if p.to_ascii_lowercase().starts_with("urn:")
        && let Some(i) = p.rfind(':')
    {
        return (Some(&p[..i]), &p[i + 1..]);
    }
    (None, p)
}

/// The extension key an attribute lives in (`None`: top level) and its
/// path inside; an empty path means the whole extension.
fn locate(
    obj: &Map<String, Value>,
    p: &str,
    kind: ResourceKind,
) -> Option<(Option<String>, String)> {
    if p.to_ascii_lowercase().starts_with("urn:")
        && let Some(k) = key_ci(obj, p)
    {
        return Some((Some(k), String::new()));
    }
    let (uri, attr) = split_urn(p);
    match uri {
        None => Some((None, attr.to_string())),
        Some(u) if u.eq_ignore_ascii_case(kind.core().id) => Some((None, attr.to_string())),
        Some(u) => key_ci(obj, u).map(|k| (Some(k), attr.to_string())),
    }
}

fn copy_path(from: &Map<String, Value>, to: &mut Map<String, Value>, p: &str, kind: ResourceKind) {
    let Some((ext, attr)) = locate(from, p, kind) else {
        return;
    };
    let (src, dst): (&Map<String, Value>, &mut Map<String, Value>) = match &ext {
        None => (from, to),
        Some(k) => {
            let Some(Value::Object(src)) = from.get(k) else {
                return;
            };
            if attr.is_empty() {
                to.insert(k.clone(), Value::Object(src.clone()));
                return;
            }
            let entry = to
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(dst) = entry else { return };
            (src, dst)
        }
    };
    let mut parts = attr.as_str().splitn(2, '.');
    let name = parts.next().unwrap_or_default();
    let Some(key) = key_ci(src, name) else { return };
    let Some(v) = src.get(&key) else { return };
    match parts.next() {
        None => {
            dst.insert(key, v.clone());
        }
        Some(sub) => {
            let pick = |el: &Value| -> Option<Value> {
                let o = el.as_object()?;
                let k = key_ci(o, sub)?;
                let mut m = Map::new();
                m.insert(k.clone(), o.get(&k)?.clone());
                Some(Value::Object(m))
            };
            let projected = match v {
                Value::Array(items) => Value::Array(items.iter().filter_map(pick).collect()),
                other => match pick(other) {
                    Some(x) => x,
                    None => return,
                },
            };
            match (dst.get_mut(&key), projected) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, projected) => {
                    dst.insert(key, projected);
                }
            }
        }
    }
}

fn remove_path(obj: &mut Map<String, Value>, p: &str, kind: ResourceKind) {
    let Some((ext, attr)) = locate(obj, p, kind) else {
        return;
    };
    let target = match &ext {
        None => obj,
        Some(k) => {
            if attr.is_empty() {
                obj.remove(k);
                return;
            }
            match obj.get_mut(k) {
                Some(Value::Object(o)) => o,
                _ => return,
            }
        }
    };
    let mut parts = attr.as_str().splitn(2, '.');
    let name = parts.next().unwrap_or_default();
    if ["id", "schemas"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
    {
        return;
    }
    let Some(key) = key_ci(target, name) else {
        return;
    };
    match parts.next() {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Object(o)) => {
                if let Some(k) = key_ci(o, sub) {
                    o.remove(&k);
                }
            }
            Some(Value::Array(items)) => {
                for el in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(k) = key_ci(el, sub) {
                        el.remove(&k);
                    }
                }
            }
            _ => {}
        },
    }
}
