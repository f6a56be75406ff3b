//! Filters (RFC 7644 §3.4.2.2): parsed by the `scim_v2` crate, evaluated here
//! against a resource's JSON document with the schema's case rules.

use std::cmp::Ordering;

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter_types::{self, Parent, boolean, chronological};
use super::schema::{AttrType, ResourceKind};
use super::value::{get_ci, is_present};

/// Limits on a filter's text; depth (64) and terms (1024) are enforced by
/// the parser itself.
#[derive(Debug, Clone, Copy)]
pub struct FilterLimits {
    pub max_chars: usize,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimFilter(Filter);

/// A filter that an index answers directly: `attr eq "value"`, or an `or`
/// of such terms on one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Id(Vec<String>),
    UserName(Vec<String>),
    ExternalId(Vec<String>),
    DisplayName(Vec<String>),
}

impl ScimFilter {
    /// Parses a filter, refusing one longer than the limit.
    pub fn parse(text: &str, limits: FilterLimits) -> Result<Self, ScimError> {
        let chars = text.chars().count();
        if chars > limits.max_chars {
            return Err(ScimError::bad(
                ScimType::InvalidFilter,
                format!(
                    "the filter is {chars} characters long; the limit is {}",
                    limits.max_chars
                ),
            ));
        }
        let folded = super::filter_sub_attr::fold(text.trim());
        super::filter_shapes::parse(&folded).map(Self).map_err(|e| {
            ScimError::bad(
                ScimType::InvalidFilter,
                format!(
                    "the filter {text:?} is not valid SCIM filter syntax: {}",
                    super::parse_error::explain(&folded, &e)
                ),
            )
        })
    }

    /// Refuses a filter that compares an attribute of `kind` with a value
    /// its type does not allow (RFC 7644 §3.4.2.2: `gt` on a boolean, a
    /// date that is not one), saying which and why.
    pub fn check(&self, kind: ResourceKind) -> Result<(), ScimError> {
        filter_types::check(&self.0, kind)
    }

    /// Whether a resource document matches.
    pub fn matches(&self, doc: &Value, kind: ResourceKind) -> bool {
        eval(&self.0, doc, kind)
    }

    /// Whether the filter names an attribute (any case), e.g. whether a
    /// Group filter needs the member list.
    pub fn mentions(&self, name: &str) -> bool {
        fn walk(f: &Filter, name: &str) -> bool {
            match f {
                Filter::Attr(a) => attr_mentions(a, name),
                Filter::ValuePath(vp) => {
                    vp.attr.name.eq_ignore_ascii_case(name) || val_mentions(&vp.filter, name)
                }
                Filter::Not(inner) => walk(inner, name),
                Filter::And(items) | Filter::Or(items) => {
                    items.as_slice().iter().any(|x| walk(x, name))
                }
            }
        }
        walk(&self.0, name)
    }

    /// The e-mail address every User this filter matches must hold among
    /// its `emails` values (`emails.value eq "…"`, `emails[type eq "work"
    /// and value eq "…"]`, or either inside an `and`): an index narrows the
    /// search to the members holding it, and the filter decides among them.
    /// Microsoft Entra ID finds users this way when its matching attribute
    /// is an e-mail.
    pub fn email_value(&self) -> Option<String> {
        fn is_emails(p: &AttrPath) -> bool {
            p.name.eq_ignore_ascii_case("emails")
                && p.uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(super::USER_SCHEMA))
        }
        fn inside(f: &ValFilter) -> Option<String> {
            match f {
                ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                    if p.uri.is_none()
                        && p.sub_attr.is_none()
                        && p.name.eq_ignore_ascii_case("value") =>
                {
                    Some(v.clone())
                }
                ValFilter::And(items) => items.as_slice().iter().find_map(inside),
                _ => None,
            }
        }
        fn term(f: &Filter) -> Option<String> {
            match f {
                Filter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                    if is_emails(p)
                        && p.sub_attr
                            .as_deref()
                            .is_none_or(|s| s.eq_ignore_ascii_case("value")) =>
                {
                    Some(v.clone())
                }
                Filter::ValuePath(vp) if is_emails(&vp.attr) && vp.attr.sub_attr.is_none() => {
                    inside(&vp.filter)
                }
                Filter::And(items) => items.as_slice().iter().find_map(term),
                _ => None,
            }
        }
        term(&self.0)
    }

    /// The values a Group filter compares its `members` with, when every
    /// mention of `members` is an `eq` on a member's value
    /// (`members[value eq "…"]`, `members.value eq "…"`, `members eq "…"`):
    /// Microsoft Entra ID asks whether a user is in a group this way. Only
    /// members holding one of these values can satisfy such a comparison,
    /// so a document listing just them is decided exactly as one listing
    /// every member. `None` when the filter looks at members any other way
    /// (or not at all).
    pub fn member_values(&self) -> Option<Vec<String>> {
        fn is_members(p: &AttrPath) -> bool {
            p.name.eq_ignore_ascii_case("members")
        }
        fn in_core_schema(p: &AttrPath) -> bool {
            p.uri
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(super::GROUP_SCHEMA))
        }
        /// `value eq "…"` alone, inside `members[...]`.
        fn value_eq(f: &ValFilter) -> Option<&String> {
            match f {
                ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                    if p.uri.is_none()
                        && p.sub_attr.is_none()
                        && p.name.eq_ignore_ascii_case("value") =>
                {
                    Some(v)
                }
                _ => None,
            }
        }
        /// Collects the compared values; false at any other look at members.
        fn walk(f: &Filter, out: &mut Vec<String>) -> bool {
            match f {
                Filter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                    if is_members(p) =>
                {
                    let on_value = p
                        .sub_attr
                        .as_deref()
                        .is_none_or(|s| s.eq_ignore_ascii_case("value"));
                    out.push(v.clone());
                    in_core_schema(p) && on_value
                }
                Filter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => !is_members(p),
                Filter::ValuePath(vp) if is_members(&vp.attr) => match value_eq(&vp.filter) {
                    Some(v) if in_core_schema(&vp.attr) && vp.attr.sub_attr.is_none() => {
                        out.push(v.clone());
                        true
                    }
                    _ => false,
                },
                Filter::ValuePath(vp) => !val_mentions(&vp.filter, "members"),
                Filter::Not(inner) => walk(inner, out),
                Filter::And(items) | Filter::Or(items) => {
                    items.as_slice().iter().all(|x| walk(x, out))
                }
            }
        }
        let mut values = Vec::new();
        (walk(&self.0, &mut values) && !values.is_empty()).then_some(values)
    }

    /// The index lookup that answers this filter exactly, if there is one.
    pub fn lookup(&self, kind: ResourceKind) -> Option<Lookup> {
        let terms: Vec<&AttrExp> = match &self.0 {
            Filter::Attr(a) => vec![a],
            Filter::Or(items) => items
                .as_slice()
                .iter()
                .map(|f| match f {
                    Filter::Attr(a) => Some(a),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        let mut attr: Option<String> = None;
        let mut values = Vec::with_capacity(terms.len());
        for t in terms {
            let AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)) = t else {
                return None;
            };
            if path.sub_attr.is_some()
                || path
                    .uri
                    .as_deref()
                    .is_some_and(|u| !u.eq_ignore_ascii_case(kind.core().id))
            {
                return None;
            }
            let name = path.name.to_ascii_lowercase();
            if attr.as_ref().is_some_and(|a| *a != name) {
                return None;
            }
            attr = Some(name);
            values.push(v.clone());
        }
        match (kind, attr?.as_str()) {
            (_, "id") => Some(Lookup::Id(values)),
            (_, "externalid") => Some(Lookup::ExternalId(values)),
            (ResourceKind::User, "username") => Some(Lookup::UserName(values)),
            (ResourceKind::Group, "displayname") => Some(Lookup::DisplayName(values)),
            _ => None,
        }
    }
}

/// Whether a comparison or presence test names the attribute `name`.
fn attr_mentions(a: &AttrExp, name: &str) -> bool {
    let (AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) = a;
    p.name.eq_ignore_ascii_case(name)
}

/// Whether the filter inside a value path names the attribute `name`.
fn val_mentions(f: &ValFilter, name: &str) -> bool {
    match f {
        ValFilter::Attr(a) => attr_mentions(a, name),
        ValFilter::Not(inner) => val_mentions(inner, name),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.as_slice().iter().any(|x| val_mentions(x, name))
        }
    }
}

fn eval(f: &Filter, doc: &Value, kind: ResourceKind) -> bool {
    match f {
        Filter::Attr(a) => eval_attr(a, doc, kind, None),
        Filter::ValuePath(vp) => {
            let values = elements(doc, &vp.attr);
            values.iter().any(|el| {
                let ctx = Some((vp.attr.uri.as_deref(), vp.attr.name.as_str()));
                eval_val(&vp.filter, el, kind, ctx)
            })
        }
        Filter::Not(inner) => !eval(inner, doc, kind),
        Filter::And(items) => items.as_slice().iter().all(|x| eval(x, doc, kind)),
        Filter::Or(items) => items.as_slice().iter().any(|x| eval(x, doc, kind)),
    }
}

/// Whether one element of the multi-valued attribute `parent` matches the
/// filter inside `parent[...]` (PATCH value paths use this too).
pub fn element_matches(
    f: &ValFilter,
    el: &Value,
    kind: ResourceKind,
    uri: Option<&str>,
    parent: &str,
) -> bool {
    eval_val(f, el, kind, Some((uri, parent)))
}

/// Evaluates the filter inside `attr[...]` against one element.
fn eval_val(f: &ValFilter, el: &Value, kind: ResourceKind, parent: Parent<'_>) -> bool {
    match f {
        ValFilter::Attr(a) => eval_attr(a, el, kind, parent),
        ValFilter::Not(inner) => !eval_val(inner, el, kind, parent),
        ValFilter::And(items) => items
            .as_slice()
            .iter()
            .all(|x| eval_val(x, el, kind, parent)),
        ValFilter::Or(items) => items
            .as_slice()
            .iter()
            .any(|x| eval_val(x, el, kind, parent)),
    }
}

fn eval_attr(a: &AttrExp, doc: &Value, kind: ResourceKind, parent: Parent<'_>) -> bool {
    let path = match a {
        AttrExp::Present(p) | AttrExp::Comparison(p, _, _) => p,
    };
    let values = resolve(doc, path);
    let exact = match parent {
        Some((uri, name)) => kind.case_exact(uri, name, Some(&path.name)),
        None => kind.case_exact(path.uri.as_deref(), &path.name, path.sub_attr.as_deref()),
    };
    let dates = filter_types::type_of(kind, path, parent) == Some(AttrType::DateTime);
    match a {
        AttrExp::Present(_) => values.iter().any(|v| is_present(v)),
        AttrExp::Comparison(_, op, CompValue::Null) => match op {
            CompareOp::Eq => !values.iter().any(|v| is_present(v)),
            CompareOp::Ne => values.iter().any(|v| is_present(v)),
            _ => false,
        },
        AttrExp::Comparison(_, CompareOp::Ne, rhs) => !values
            .iter()
            .any(|v| compare(v, CompareOp::Eq, rhs, exact, dates)),
        AttrExp::Comparison(_, op, rhs) => values
            .iter()
            .any(|v| compare(v, op.clone(), rhs, exact, dates)),
    }
}

/// The value of an attribute (`uri:name`, sub-attribute ignored) in a
/// document; a core-schema URN addresses the top level.
fn attribute<'a>(doc: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let obj = doc.as_object()?;
    let container: &Map<String, Value> = match &path.uri {
        Some(uri) if !uri.contains(":core:") => get_ci(obj, uri)?.as_object()?,
        _ => obj,
    };
    get_ci(container, &path.name)
}

/// The elements of a (multi-valued) attribute, for `attr[filter]`; a
/// single value is one element.
fn elements<'a>(doc: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    match attribute(doc, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// The values an attribute path reaches in a document: a multi-valued
/// attribute yields each element (or each element's sub-attribute), and a
/// complex multi-valued attribute compared without a sub-attribute is
/// compared on its `value` sub-attributes.
fn resolve<'a>(doc: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let multi = attribute(doc, path).is_some_and(Value::is_array);
    elements(doc, path)
        .into_iter()
        .filter_map(|el| match (&path.sub_attr, el) {
            (Some(sub), Value::Object(o)) => get_ci(o, sub),
            (Some(_), _) => None,
            (None, Value::Object(o)) if multi => get_ci(o, "value"),
            (None, other) => Some(other),
        })
        .collect()
}

/// Compares one value with a filter's value; `dates` says the attribute
/// is a dateTime, compared in time rather than as text.
fn compare(v: &Value, op: CompareOp, rhs: &CompValue, exact: bool, dates: bool) -> bool {
    let in_time = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match (v, rhs) {
        (Value::String(s), CompValue::Str(r)) if dates && in_time => match chronological(s, r) {
            Some(ord) => ordering_op(op, Some(ord)),
            None => compare_str(s, op, r, exact),
        },
        (Value::String(s), CompValue::Str(r)) => compare_str(s, op, r, exact),
        (Value::Bool(b), rhs) if boolean(rhs).is_some() => bool_op(op, boolean(rhs) == Some(*b)),
        (Value::Number(n), CompValue::Number(r)) => match (n.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => ordering_op(op, a.partial_cmp(&b)),
            _ => false,
        },
        _ => false,
    }
}

fn bool_op(op: CompareOp, equal: bool) -> bool {
    op == CompareOp::Eq && equal
}

fn compare_str(s: &str, op: CompareOp, r: &str, exact: bool) -> bool {
    let (a, b) = if exact {
        (s.to_string(), r.to_string())
    } else {
        (s.to_lowercase(), r.to_lowercase())
    };
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_op(op, Some(a.cmp(&b))),
    }
}

fn ordering_op(op: CompareOp, ord: Option<Ordering>) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: FilterLimits = FilterLimits { max_chars: 4096 };

    fn user() -> Value {
        json!({
            "schemas": [crate::scim::USER_SCHEMA, crate::scim::ENTERPRISE_USER_SCHEMA],
            "id": "0190-AbC",
            "externalId": "ext-1",
            "userName": "Barbara.Jensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs Jensen",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "roles": [{"value": "builder"}],
            "meta": {"lastModified": "2026-05-13T04:42:34.000Z", "resourceType": "User"},
            crate::scim::ENTERPRISE_USER_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915-6090"}},
        })
    }

    fn check(filter: &str) -> bool {
        ScimFilter::parse(filter, LIMITS)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&user(), ResourceKind::User)
    }

    #[test]
    fn operators_and_case_rules() {
        let table = [
            (r#"userName eq "barbara.jensen@example.com""#, true),
            (r#"USERNAME Eq "BARBARA.JENSEN@EXAMPLE.COM""#, true),
            (r#"userName ne "someone@else.com""#, true),
            (r#"userName co "jensen@""#, true),
            (r#"userName sw "barb""#, true),
            (r#"userName ew ".COM""#, true),
            (r#"id eq "0190-abc""#, false),
            (r#"id eq "0190-AbC""#, true),
            (r#"externalId eq "EXT-1""#, false),
            (r#"name.givenName eq "barbara""#, true),
            (r#"name.familyName pr"#, true),
            (r#"title pr"#, false),
            (r#"active eq true"#, true),
            (r#"active eq false"#, false),
            (r#"emails co "jensen.org""#, true),
            (r#"emails.type eq "home""#, true),
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (r#"roles[value eq "builder"]"#, true),
            // Entra ID's form, outside RFC 7644's grammar.
            (
                r#"emails[type eq "work"].value eq "BJensen@example.com""#,
                true,
            ),
            (
                r#"emails[type eq "home"].value eq "bjensen@example.com""#,
                false,
            ),
            (
                r#"emails[type eq "home"].value pr and active eq true"#,
                true,
            ),
            (r#"emails[type eq "other"].value pr"#, false),
            (r#"meta.lastModified gt "2026-01-01T00:00:00Z""#, true),
            (r#"meta.lastModified lt "2026-01-01T00:00:00Z""#, false),
            (r#"meta.lastModified ge "2026-05-13T04:42:34.000Z""#, true),
            // In time, not as text: 05:00 at +01:00 is 04:00 UTC.
            (r#"meta.lastModified gt "2026-05-13T05:00:00+01:00""#, true),
            (r#"meta.lastModified eq "2026-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified ne "2026-05-13T06:42:34+02:00""#, false),
            (r#"meta.lastModified lt "2026-05-13T04:42:35""#, true),
            (r#"meta.lastModified sw "2026-05""#, true),
            // Booleans as Microsoft Entra ID writes them.
            (r#"active eq "True""#, true),
            (r#"active ne "false""#, true),
            (r#"active eq "FALSE""#, false),
            (r#"userName eq "x" or displayName sw "babs""#, true),
            (r#"userName eq "x" and displayName sw "babs""#, false),
            (r#"not (userName eq "x")"#, true),
            (
                r#"(userName eq "x" or active eq true) and not (title pr)"#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BARB""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090""#,
                true,
            ),
            (r#"title eq null"#, true),
            (r#"userName ne null"#, true),
        ];
        for (f, want) in table {
            assert_eq!(check(f), want, "{f}");
        }
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for f in [
            "userName eq",
            r#"userName eq "x" and"#,
            r#"userName zz "x""#,
            "((",
            r#"emails[type eq "work""#,
            "",
        ] {
            let e = ScimFilter::parse(f, LIMITS).expect_err(f);
            assert_eq!(e.status, 400, "{f}");
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f}");
        }
        let long = format!(r#"userName eq "{}""#, "a".repeat(5000));
        let e = ScimFilter::parse(&long, LIMITS).expect_err("too long");
        assert!(e.detail.contains("limit is 4096"), "{}", e.detail);
        let deep = format!("{}userName pr{}", "not (".repeat(100), ")".repeat(100));
        assert!(ScimFilter::parse(&deep, LIMITS).is_err());
    }

    #[test]
    fn comparisons_the_attribute_type_forbids_are_refused_with_the_reason() {
        let refused = [
            (r#"active gt true"#, "active, a boolean, with `gt`"),
            (r#"active eq "yes""#, "active, a boolean, with \"yes\""),
            (r#"active eq 5"#, "compare it with true or false"),
            (
                r#"meta.created gt "2026-11-29""#,
                "meta.created with \"2026-11-29\", which is not a date and time",
            ),
            (r#"meta.lastModified lt 5"#, "write it in double quotes"),
            (r#"userName eq true"#, "userName, a string, with true"),
            (r#"emails[value eq 5]"#, "emails.value, a string, with 5"),
            (
                r#"userName eq "a" or not (name.givenName ge false)"#,
                "name.givenName, a string",
            ),
            (
                r#"noSuchAttribute eq 5"#,
                "names noSuchAttribute, which is not an attribute of a User",
            ),
            (r#"name.nickname pr"#, "names name.nickname, which is not"),
            (
                r#"emails[kind eq "work"]"#,
                "names emails.kind, which is not",
            ),
            (
                r#"urn:example:custom:2.0:User:costCode eq "7""#,
                "names urn:example:custom:2.0:User:costCode, which is not",
            ),
        ];
        for (f, why) in refused {
            let e = ScimFilter::parse(f, LIMITS)
                .expect(f)
                .check(ResourceKind::User)
                .expect_err(f);
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f}");
            assert!(e.detail.contains(why), "{f}: {}", e.detail);
        }
        for f in [
            r#"active eq "true" and meta.created ge "2026-11-29T12:00:00+01:00""#,
            r#"meta.created sw "2026""#,
            r#"title eq null"#,
            r#"USERNAME eq "a" and meta.resourceType eq "User" and schemas pr"#,
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
            r#"urn:ietf:params:scim:schemas:extension:tooljet:User:2.0:role eq "Admin""#,
            r#"externalId eq "x" or id eq "y" or groups.display co "Sales""#,
        ] {
            let parsed = ScimFilter::parse(f, LIMITS).expect(f);
            assert!(parsed.check(ResourceKind::User).is_ok(), "{f}");
        }
        let group = ScimFilter::parse(r#"members.value eq "x" and displayName pr"#, LIMITS);
        assert!(group.expect("group").check(ResourceKind::Group).is_ok());
        let user_attr = ScimFilter::parse(r#"userName eq "x""#, LIMITS).expect("parses");
        assert!(
            user_attr.check(ResourceKind::Group).is_err(),
            "a Group has no userName"
        );
    }

    #[test]
    fn index_lookups_are_recognised() {
        let p = |f: &str| ScimFilter::parse(f, LIMITS).expect(f);
        assert_eq!(
            p(r#"userName eq "a@b.c""#).lookup(ResourceKind::User),
            Some(Lookup::UserName(vec!["a@b.c".into()]))
        );
        assert_eq!(
            p(r#"externalId eq "1" or externalId eq "2""#).lookup(ResourceKind::User),
            Some(Lookup::ExternalId(vec!["1".into(), "2".into()]))
        );
        assert_eq!(
            p(r#"displayName eq "Ops""#).lookup(ResourceKind::Group),
            Some(Lookup::DisplayName(vec!["Ops".into()]))
        );
        assert_eq!(
            p(r#"userName eq "a" or id eq "b""#).lookup(ResourceKind::User),
            None
        );
        assert_eq!(p(r#"userName co "a""#).lookup(ResourceKind::User), None);
        assert_eq!(p(r#"displayName eq "a""#).lookup(ResourceKind::User), None);
        let email = |f: &str| p(f).email_value();
        for f in [
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"emails.value eq "a@b.c""#,
            r#"EMAILS eq "a@b.c" and active eq true"#,
            r#"emails[value eq "a@b.c" and type eq "work"]"#,
            r#"active eq true and urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "a@b.c""#,
        ] {
            assert_eq!(email(f).as_deref(), Some("a@b.c"), "{f}");
        }
        for f in [
            r#"emails[type eq "work"].value ne "a@b.c""#,
            r#"emails[type eq "work"].value eq "a@b.c" or active eq true"#,
            r#"not (emails.value eq "a@b.c")"#,
            r#"emails[type eq "work" or value eq "a@b.c"]"#,
            r#"emails.type eq "a@b.c""#,
            r#"urn:example:ext:emails.value eq "a@b.c""#,
            r#"userName eq "a@b.c""#,
        ] {
            assert_eq!(email(f), None, "{f}");
        }
        let members = |f: &str| p(f).member_values();
        for (f, values) in [
            (r#"members[value eq "u1"]"#, vec!["u1"]),
            (r#"id eq "g" and members[value eq "u1"]"#, vec!["u1"]),
            (r#"id eq "g" and MEMBERS eq "u1""#, vec!["u1"]),
            (
                r#"members.value eq "u1" or members.value eq "u2""#,
                vec!["u1", "u2"],
            ),
            (
                r#"not (members[value eq "u1"]) and displayName pr"#,
                vec!["u1"],
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq "u1"]"#,
                vec!["u1"],
            ),
        ] {
            assert_eq!(
                members(f),
                Some(values.iter().map(|v| v.to_string()).collect()),
                "{f}"
            );
        }
        for f in [
            r#"displayName eq "Ops""#,
            r#"members pr"#,
            r#"members[value eq "u1"] or members pr"#,
            r#"members[display eq "Ada"]"#,
            r#"members[value eq "u1" or display eq "Ada"]"#,
            r#"members.display eq "u1""#,
            r#"members.value sw "u1""#,
            r#"members ne "u1""#,
            r#"urn:example:ext:members eq "u1""#,
        ] {
            assert_eq!(members(f), None, "{f}");
        }
        assert!(p(r#"members[value eq "x"]"#).mentions("MEMBERS"));
        assert!(p(r#"displayName eq "members" or not (members.value pr)"#).mentions("members"));
        assert!(!p(r#"displayName eq "members""#).mentions("members"));
    }
}
