//! `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3) over rendered documents.

use std::cmp::Ordering;

use serde_json::Value;

use super::projection::split_urn;
use super::value::get_ci;

/// Documents in the order of an attribute path: strings case-insensitively,
/// multi-valued attributes by their primary (else first) value, documents
/// without the attribute last; descending reverses it all. Equal keys keep
/// their order.
pub fn sorted(docs: Vec<Value>, sort_by: &str, descending: bool) -> Vec<Value> {
    let mut keyed: Vec<(Option<String>, Value)> =
        docs.into_iter().map(|d| (key(&d, sort_by), d)).collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let ord = match (a, b) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if descending { ord.reverse() } else { ord }
    });
    keyed.into_iter().map(|(_, d)| d).collect()
}

/// The sort key of one document.
fn key(doc: &Value, sort_by: &str) -> Option<String> {
    let (uri, path) = split_urn(sort_by);
    let mut cur = match uri {
        Some(u) => get_ci(doc.as_object()?, u).unwrap_or(doc),
        None => doc,
    };
    for part in path.split('.') {
        cur = get_ci(primary(cur)?.as_object()?, part)?;
    }
    cur = primary(cur)?;
    if let Value::Object(o) = cur {
        cur = get_ci(o, "value")?;
    }
    Some(match cur {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    })
}

/// The primary (else first) element of a multi-valued value; other values
/// as they are.
fn primary(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => items
            .iter()
            .find(|x| x.get("primary") == Some(&Value::Bool(true)))
            .or(items.first()),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_by_paths_case_insensitively_missing_last() {
        let docs = vec![
            json!({"id": "1", "userName": "b@x", "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            json!({"id": "2", "userName": "A@x", "name": {"familyName": "Zed"}}),
            json!({"id": "3", "userName": "c@x", "name": {"familyName": "abel"}}),
        ];
        let ids = |v: Vec<Value>| {
            v.iter()
                .map(|d| d["id"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(sorted(docs.clone(), "userName", false)),
            ["2", "1", "3"]
        );
        assert_eq!(ids(sorted(docs.clone(), "userName", true)), ["3", "1", "2"]);
        assert_eq!(
            ids(sorted(docs.clone(), "name.familyName", false)),
            ["3", "2", "1"]
        );
        assert_eq!(ids(sorted(docs.clone(), "emails", false)), ["1", "2", "3"]);
        assert_eq!(
            ids(sorted(
                docs,
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                false
            )),
            ["2", "1", "3"]
        );
    }
}
