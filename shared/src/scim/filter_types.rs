//! What a filter may compare an attribute with, by the attribute's SCIM
//! type (RFC 7644 §3.4.2.2): booleans only with `eq`/`ne` and `true` or
//! `false` (which identity providers also send as strings), dates and
//! times chronologically rather than as text, strings with quoted values.
//! A filter that breaks these rules is refused with the rule it broke,
//! rather than answered with an empty list that looks like "no such user".

use std::cmp::Ordering;

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimType};
use super::schema::{AttrDef, AttrType, ResourceKind};

/// For sub-attribute filters: the (schema URN, attribute) they live under.
pub(super) type Parent<'a> = Option<(Option<&'a str>, &'a str)>;

/// The value path's attribute, as the parent of its filter's terms.
fn parent_of(attr: &AttrPath) -> Parent<'_> {
    Some((attr.uri.as_deref(), attr.name.as_str()))
}

/// Whether `name` is a common attribute of every resource (RFC 7643 §3.1)
/// that the schema tables leave out.
fn is_common(name: &str) -> bool {
    ["meta", "schemas"]
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

/// The type a comparison on `path` compares, or `None` when the schema
/// gives none (a `schemas` term, a sub-attribute only RFC 7643 §2.4 names).
pub(super) fn type_of(kind: ResourceKind, path: &AttrPath, parent: Parent<'_>) -> Option<AttrType> {
    let (uri, name, sub) = resolve(path, parent);
    if name.eq_ignore_ascii_case("meta") {
        return Some(match sub {
            Some(s) if s.eq_ignore_ascii_case("created") => AttrType::DateTime,
            Some(s) if s.eq_ignore_ascii_case("lastModified") => AttrType::DateTime,
            Some(_) => AttrType::String,
            None => AttrType::Complex,
        });
    }
    kind.compared(uri, name, sub).map(|d| d.ty)
}

/// The (schema URN, attribute, sub-attribute) a path names.
fn resolve<'a>(
    path: &'a AttrPath,
    parent: Parent<'a>,
) -> (Option<&'a str>, &'a str, Option<&'a str>) {
    match parent {
        Some((uri, parent)) => (uri, parent, Some(path.name.as_str())),
        None => (
            path.uri.as_deref(),
            path.name.as_str(),
            path.sub_attr.as_deref(),
        ),
    }
}

/// How a message names the path: `emails.value`, with the schema URN
/// when asked (`urn:…:User:costCode`).
fn shown(uri: Option<&str>, name: &str, sub: Option<&str>) -> String {
    let mut out = uri.map(|u| format!("{u}:")).unwrap_or_default();
    out.push_str(name);
    if let Some(sub) = sub {
        out.push('.');
        out.push_str(sub);
    }
    out
}

/// The sub-attributes RFC 7643 §2.4 lets every multi-valued attribute
/// carry, whether or not roster keeps them: Microsoft Entra ID assigns app
/// roles through `roles[primary eq "True"].value`.
const MULTI_VALUED_SUB: [&str; 5] = ["type", "primary", "display", "value", "$ref"];

/// Refuses a term on an attribute roster does not have: it could only
/// ever match nothing, which an identity provider reads as "no such user"
/// and answers with a create that then conflicts.
fn known(kind: ResourceKind, path: &AttrPath, parent: Parent<'_>) -> Result<(), ScimError> {
    let (uri, name, sub) = resolve(path, parent);
    if is_common(name) {
        return Ok(());
    }
    let has_sub = |a: &AttrDef, s: &str| {
        a.sub_attr(s).is_some()
            || (a.multi && MULTI_VALUED_SUB.iter().any(|d| d.eq_ignore_ascii_case(s)))
    };
    if kind
        .attr(uri, name)
        .is_some_and(|a| sub.is_none_or(|s| has_sub(a, s)))
    {
        return Ok(());
    }
    Err(ScimError::bad(
        ScimType::InvalidFilter,
        format!(
            "the filter names {}, which is not an attribute of a {} in roster (GET /Schemas lists them)",
            shown(uri, name, sub),
            kind.name()
        ),
    ))
}

/// Refuses the first comparison of `filter` that its attribute's type does
/// not allow, naming the attribute, what it was compared with and why.
pub(super) fn check(filter: &Filter, kind: ResourceKind) -> Result<(), ScimError> {
    match filter {
        Filter::Attr(a) => check_attr(a, kind, None),
        Filter::ValuePath(vp) => check_val(&vp.filter, kind, parent_of(&vp.attr)),
        Filter::Not(inner) => check(inner, kind),
        Filter::And(items) | Filter::Or(items) => {
            items.as_slice().iter().try_for_each(|f| check(f, kind))
        }
    }
}

/// The same rules for the filter of a PATCH path such as
/// `emails[primary eq true].value`.
pub(super) fn check_patch_filter(
    vp: &scim_v2::filter::PatchValuePath,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    check_val(&vp.filter, kind, parent_of(&vp.attr))
}

fn check_val(f: &ValFilter, kind: ResourceKind, parent: Parent<'_>) -> Result<(), ScimError> {
    match f {
        ValFilter::Attr(a) => check_attr(a, kind, parent),
        ValFilter::Not(inner) => check_val(inner, kind, parent),
        ValFilter::And(items) | ValFilter::Or(items) => items
            .as_slice()
            .iter()
            .try_for_each(|x| check_val(x, kind, parent)),
    }
}

fn check_attr(a: &AttrExp, kind: ResourceKind, parent: Parent<'_>) -> Result<(), ScimError> {
    let (AttrExp::Present(path) | AttrExp::Comparison(path, _, _)) = a;
    known(kind, path, parent)?;
    let AttrExp::Comparison(path, op, value) = a else {
        return Ok(());
    };
    if matches!(value, CompValue::Null) {
        return Ok(());
    }
    let Some(ty) = type_of(kind, path, parent) else {
        return Ok(());
    };
    let named = || {
        let (_, name, sub) = resolve(path, parent);
        shown(None, name, sub)
    };
    let refuse = |why: String| Err(ScimError::bad(ScimType::InvalidFilter, why));
    match ty {
        AttrType::Boolean if !matches!(op, CompareOp::Eq | CompareOp::Ne) => refuse(format!(
            "the filter compares {}, a boolean, with `{op}`: compare it with eq or ne and true or false",
            named(),
        )),
        AttrType::Boolean if boolean(value).is_none() => refuse(format!(
            "the filter compares {}, a boolean, with {value}: compare it with true or false",
            named()
        )),
        AttrType::DateTime => match value {
            // co, sw and ew compare the text as it is shown.
            CompValue::Str(_) if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                Ok(())
            }
            CompValue::Str(s) if instant(s).is_none() => refuse(format!(
                "the filter compares {} with {value}, which is not a date and time such as \"2026-11-29T12:00:00Z\"",
                named()
            )),
            CompValue::Str(_) => Ok(()),
            _ => refuse(format!(
                "the filter compares {}, a date and time, with {value}: write it in double quotes, such as \"2026-11-29T12:00:00Z\"",
                named()
            )),
        },
        AttrType::String | AttrType::Reference if !matches!(value, CompValue::Str(_)) => {
            refuse(format!(
                "the filter compares {}, a string, with {value}: put the value in double quotes",
                named()
            ))
        }
        _ => Ok(()),
    }
}

/// The boolean a comparison value stands for: `true`/`false`, or the same
/// words in quotes in any case (`"True"`, as Microsoft Entra ID writes them).
pub(super) fn boolean(value: &CompValue) -> Option<bool> {
    match value {
        CompValue::True => Some(true),
        CompValue::False => Some(false),
        CompValue::Str(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        CompValue::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A dateTime value (RFC 7643 §2.3.5, xsd:dateTime); one written without
/// an offset is read as UTC.
pub(super) fn instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .ok()
}

/// How two dateTime texts compare in time, if both are dates and times.
pub(super) fn chronological(a: &str, b: &str) -> Option<Ordering> {
    Some(instant(a)?.cmp(&instant(b)?))
}
