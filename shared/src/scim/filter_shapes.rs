//! Parsed filter shapes. lalrpop's lexer (inside `scim_v2`) starts a cold
//! lazy DFA on every parse, about 7 µs, while identity providers send the
//! same few shapes (`userName eq "…"`) with other values. The filter with
//! its string literals blanked is the key; a hit is the cached tree with the
//! literals put back in text order. Literals with escapes always take the
//! full parse, so the crate alone decides how they read.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use scim_v2::filter::{AttrExp, CompValue, Filter, ParseError, ValFilter};

/// Shapes kept at most; the cache starts over when full.
const CAPACITY: usize = 1024;

fn cache() -> &'static Mutex<HashMap<String, Filter>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Filter>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// Parses `text` as `scim_v2` does, through the shape cache where it can.
pub fn parse(text: &str) -> Result<Filter, ParseError> {
    let Some((shape, literals)) = split(text) else {
        return text.parse();
    };
    let cached = cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&shape)
        .cloned();
    if let Some(mut f) = cached {
        let mut values = literals.into_iter();
        for_each_string(&mut f, &mut |s| *s = values.next().unwrap_or_default());
        return Ok(f);
    }
    let parsed: Filter = text.parse()?;
    let mut strings = 0;
    let mut template = parsed.clone();
    for_each_string(&mut template, &mut |s| {
        s.clear();
        strings += 1;
    });
    if strings == literals.len() {
        let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(shape, template);
    }
    Ok(parsed)
}

/// The text with every `"…"` literal blanked, and the literals; `None`
/// when a literal has an escape or is not closed.
fn split(text: &str) -> Option<(String, Vec<String>)> {
    let mut shape = String::with_capacity(text.len());
    let mut literals = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        shape.push_str(&rest[..=open]);
        let end = super::filter_sub_attr::string_end(rest, open)?;
        let literal = &rest[open + 1..end - 1];
        if literal.contains('\\') {
            return None;
        }
        literals.push(literal.to_string());
        shape.push('"');
        rest = &rest[end..];
    }
    shape.push_str(rest);
    Some((shape, literals))
}

/// Visits every string literal of a tree in text order.
fn for_each_string(f: &mut Filter, visit: &mut impl FnMut(&mut String)) {
    match f {
        Filter::Attr(a) => attr(a, visit),
        Filter::ValuePath(vp) => val(&mut vp.filter, visit),
        Filter::Not(inner) => for_each_string(inner, visit),
        Filter::And(items) | Filter::Or(items) => {
            for x in items.iter_mut() {
                for_each_string(x, visit);
            }
        }
    }
}

fn val(f: &mut ValFilter, visit: &mut impl FnMut(&mut String)) {
    match f {
        ValFilter::Attr(a) => attr(a, visit),
        ValFilter::Not(inner) => val(inner, visit),
        ValFilter::And(items) | ValFilter::Or(items) => {
            for x in items.iter_mut() {
                val(x, visit);
            }
        }
    }
}

fn attr(a: &mut AttrExp, visit: &mut impl FnMut(&mut String)) {
    if let AttrExp::Comparison(_, _, CompValue::Str(s)) = a {
        visit(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_shape_parses_exactly_as_the_crate_does() {
        let filters = [
            r#"userName eq "a@example.com""#,
            r#"userName eq "b@example.com""#,
            r#"userName eq "" or displayName co "x y""#,
            r#"emails[type eq "work" and value co "@b.c"] or not (title sw "Dr")"#,
            r#"emails[type eq "home" and value co "@d.e"] or not (title sw "Mr")"#,
            r#"userName eq "quote\"inside""#,
            r#"active eq true and meta.lastModified gt "2026-01-01T00:00:00Z""#,
        ];
        for _ in 0..2 {
            for f in filters {
                assert_eq!(parse(f).ok(), f.parse::<Filter>().ok(), "{f}");
            }
        }
        assert!(parse(r#"userName eq "unclosed"#).is_err());
        assert!(parse(r#"userName eq"#).is_err());
    }
}
