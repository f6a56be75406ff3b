//! Filter and PATCH-path parser errors as one sentence a person can act on.
//!
//! The `scim_v2` parser reports grammar states ("Unrecognized token `eqq`
//! found at 9:12", then a new line listing `StringLit`, `NumberLit`, …):
//! true, but not what an identity-provider admin reading a 400 in a
//! provisioning log can fix. This names the character, what is wrong there
//! and what would be accepted, in the words of RFC 7644 §3.4.2.2.

use scim_v2::filter::ParseError;

use super::filter_sub_attr::VALUE_OPS;

/// Why `text` did not parse, as one sentence without a final full stop.
pub fn explain(text: &str, e: &ParseError) -> String {
    match e {
        ParseError::InvalidToken { location } => {
            let at = column(text, *location);
            match text.get(*location..).and_then(|rest| rest.chars().next()) {
                Some('"') => format!("the string that opens at character {at} is never closed"),
                Some(c) => format!(
                    "character {at} ({c:?}) cannot start an attribute name, an operator or a value"
                ),
                None => "it ends in the middle of a word".to_string(),
            }
        }
        ParseError::UnrecognizedEof { expected, .. } => {
            format!("it ends too early; expected {}", one_of(expected))
        }
        ParseError::UnrecognizedToken {
            token: (start, token, _),
            expected,
        } => {
            let at = column(text, *start);
            let expects = |name: &str| expected.iter().any(|x| x.trim_matches('"') == name);
            if expects("eq") && is_operator(token) {
                format!("the comparison ends at `{token}` (character {at}): a value is missing")
            } else if expects("eq") {
                format!(
                    "`{token}` at character {at} is not an operator: use {}, pr",
                    VALUE_OPS.join(", ")
                )
            } else if expects("StringLit") {
                format!(
                    "`{token}` at character {at} is not a value: strings are quoted (\"…\"); numbers, true, false and null are not"
                )
            } else {
                format!(
                    "`{token}` at character {at} is not expected here; expected {}",
                    one_of(expected)
                )
            }
        }
        ParseError::ExtraToken {
            token: (start, token, _),
        } => format!(
            "`{token}` at character {} follows what is already a whole expression",
            column(text, *start)
        ),
        ParseError::User { error } => error.to_string(),
    }
}

/// The 1-based character position of a byte offset.
fn column(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or(byte, |before| before.chars().count())
        + 1
}

fn is_operator(token: &str) -> bool {
    token.eq_ignore_ascii_case("pr") || VALUE_OPS.iter().any(|op| op.eq_ignore_ascii_case(token))
}

/// The grammar's token names as a reader's list: `a, b or c`.
fn one_of(expected: &[String]) -> String {
    let names: Vec<String> = expected
        .iter()
        .map(|name| match name.as_str() {
            "StringLit" => "a quoted string".to_string(),
            "NumberLit" => "a number".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    match names.split_last() {
        None => "more".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use scim_v2::filter::{Filter, PatchPath};

    use super::explain;

    fn filter_error(text: &str) -> String {
        let e = text.parse::<Filter>().expect_err("a bad filter");
        explain(text, &e)
    }

    #[test]
    fn bad_filters_are_explained_in_one_sentence() {
        let cases = [
            (
                r#"userName eq "ada"#,
                "the string that opens at character 13 is never closed",
            ),
            (
                r#"(userName eq "ada""#,
                "it ends too early; expected `or` or `)`",
            ),
            (
                r#"userName eqq "ada""#,
                "`eqq` at character 10 is not an operator: use eq, ne, co, sw, ew, gt, ge, lt, le, pr",
            ),
            (
                "userName eq",
                "the comparison ends at `eq` (character 10): a value is missing",
            ),
            (
                "userName eq ada@example.com",
                r#"`ada` at character 13 is not a value: strings are quoted ("…"); numbers, true, false and null are not"#,
            ),
            (
                r#"userName eq "ada" andd active eq true"#,
                "`andd` at character 19 is not expected here; expected `and` or `or`",
            ),
            (
                r#"emails[type eq "work""#,
                "it ends too early; expected `and`, `or` or `]`",
            ),
        ];
        for (text, want) in cases {
            let got = filter_error(text);
            assert_eq!(got, want, "for {text}");
            assert!(!got.contains('\n'), "one line for {text}");
        }
    }

    #[test]
    fn bad_patch_paths_are_explained_too() {
        let text = r#"emails[type eq "work"].value extra"#;
        let e = text.parse::<PatchPath>().expect_err("a bad path");
        let got = explain(text, &e);
        assert!(got.contains("`extra` at character 30"), "{got}");
    }
}
