//! Microsoft Entra ID filters on a sub-attribute of a value path,
//! `emails[type eq "work"].value eq "ada@example.com"`, when an app's
//! matching attribute is a work e-mail. RFC 7644's grammar has no such form
//! (a value path is a whole filter term), so the parser refuses it; Microsoft
//! says so and still sends it. It reads as the filter the RFC does have,
//! `emails[(type eq "work") and value eq "ada@example.com"]`: some element
//! is a work address equal to the value. This rewrites the text that way
//! before it is parsed; text without the form comes back unchanged.

use std::borrow::Cow;

/// Comparison operators of RFC 7644 §3.4.2.2 that take a value (`pr`
/// takes none), in the RFC's order.
pub(super) const VALUE_OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

/// `text` with every `attr[filter].sub op value` folded into
/// `attr[(filter) and sub op value]`.
pub fn fold(text: &str) -> Cow<'_, str> {
    if !text.contains("].") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    // Where each open `[` 's contents start in `out`.
    let mut opens: Vec<usize> = Vec::new();
    let mut changed = false;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        match c {
            '"' => {
                let Some(end) = string_end(text, i) else {
                    // Unclosed: the parser says what is wrong.
                    return Cow::Borrowed(text);
                };
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            '[' => {
                out.push('[');
                opens.push(out.len());
            }
            ']' => {
                let open = opens.pop();
                if let (Some(open), Some((term, next))) = (open, sub_term(text, i + 1)) {
                    let inner = out.split_off(open);
                    out.push('(');
                    out.push_str(&inner);
                    out.push_str(") and ");
                    out.push_str(term);
                    out.push(']');
                    changed = true;
                    i = next;
                    continue;
                }
                out.push(']');
            }
            other => out.push(other),
        }
        i += c.len_utf8();
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// The byte after the string literal that opens at `start` (escapes
/// stepped over); `None` when it is not closed.
pub(super) fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// At `at`, `.sub op value` or `.sub pr`: that term without the dot, and
/// where it ends.
fn sub_term(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'.') {
        return None;
    }
    let name_start = at + 1;
    let mut i = name_start;
    if !bytes.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'))
    {
        i += 1;
    }
    let after_name = i;
    i = skip_spaces(bytes, i);
    if i == after_name {
        return None;
    }
    let op_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let op = text[op_start..i].to_ascii_lowercase();
    let ends_term = |at: usize| {
        bytes
            .get(at)
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b')' | b']'))
    };
    if op == "pr" {
        return ends_term(i).then(|| (&text[name_start..i], i));
    }
    if !VALUE_OPS.contains(&op.as_str()) {
        return None;
    }
    let after_op = i;
    i = skip_spaces(bytes, i);
    if i == after_op {
        return None;
    }
    let end = if bytes.get(i) == Some(&b'"') {
        string_end(text, i)?
    } else {
        let start = i;
        while !ends_term(i) {
            i += 1;
        }
        if i == start {
            return None;
        }
        i
    };
    Some((&text[name_start..end], end))
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_attribute_after_a_value_path_joins_its_filter() {
        let table = [
            (
                r#"emails[type eq "work"].value eq "ada@example.com""#,
                r#"emails[(type eq "work") and value eq "ada@example.com"]"#,
            ),
            (
                r#"emails[type eq "work" or primary eq true].value EW "@b.c" and active eq true"#,
                r#"emails[(type eq "work" or primary eq true) and value EW "@b.c"] and active eq true"#,
            ),
            (
                r#"not (emails[type eq "home"].value pr)"#,
                r#"not (emails[(type eq "home") and value pr])"#,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "x""#,
                r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[(type eq "work") and value eq "x"]"#,
            ),
            (
                r#"emails[value co "].value eq \"x\""].value eq "y""#,
                r#"emails[(value co "].value eq \"x\"") and value eq "y"]"#,
            ),
            (
                r#"roles[primary eq true].value eq "admin" or x.y eq 1"#,
                r#"roles[(primary eq true) and value eq "admin"] or x.y eq 1"#,
            ),
        ];
        for (given, want) in table {
            assert_eq!(fold(given), want, "{given}");
        }
    }

    #[test]
    fn other_text_is_left_alone() {
        for text in [
            r#"userName eq "a].b eq c""#,
            r#"emails[type eq "work"]"#,
            r#"emails[type eq "work"].value"#,
            r#"emails[type eq "work"].value zz "x""#,
            r#"emails[type eq "work"].value eq"#,
            r#"emails[type eq "work"].value eq "unclosed"#,
            r#"emails[type eq "wörk"] and name.givenName eq "Ünal""#,
            "].value eq 1",
        ] {
            assert_eq!(fold(text), text, "{text}");
        }
    }
}
