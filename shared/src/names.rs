//! Person names, group names and workspace slugs.

use crate::{Role, ValidationError};

/// Longest person name accepted.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest custom-group name accepted.
pub const GROUP_MAX_CHARS: usize = 50;

/// Validates a person's name and returns it trimmed.
pub fn person_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::NameEmpty);
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(ValidationError::NameTooLong {
            max: NAME_MAX_CHARS,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::NameControlChars);
    }
    Ok(name.to_string())
}

/// Validates a custom-group name and returns it trimmed.
///
/// Role names are reserved (in any case and spelling) so that a group can
/// never be mistaken for a role in the TUI, SCIM or a CSV file.
pub fn group_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::GroupEmpty);
    }
    if name.chars().count() > GROUP_MAX_CHARS {
        return Err(ValidationError::GroupTooLong {
            max: GROUP_MAX_CHARS,
        });
    }
    if Role::parse(name).is_ok() || name.eq_ignore_ascii_case("all users") {
        return Err(ValidationError::GroupReserved(name.to_string()));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::GroupEmpty);
    }
    Ok(name.to_string())
}

/// The case-insensitive key under which a group name is unique.
pub fn group_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Validates a list of group names: each valid, none twice (case-insensitively).
pub fn group_list(raw: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for g in raw {
        let name = group_name(g)?;
        if !seen.insert(group_key(&name)) {
            return Err(ValidationError::GroupDuplicate(name));
        }
        out.push(name);
    }
    Ok(out)
}

/// Validates a workspace slug: URL-safe, lowercase, 1–40 characters.
pub fn workspace_slug(raw: &str) -> Result<String, ValidationError> {
    let slug = raw.trim();
    let ok = (1..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-');
    if ok {
        Ok(slug.to_string())
    } else {
        Err(ValidationError::SlugInvalid(slug.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names() {
        assert_eq!(
            person_name("  Ada Lovelace ").as_deref(),
            Ok("Ada Lovelace")
        );
        assert_eq!(person_name("   "), Err(ValidationError::NameEmpty));
        assert_eq!(
            person_name(&"x".repeat(101)),
            Err(ValidationError::NameTooLong { max: 100 })
        );
        assert!(person_name(&"é".repeat(100)).is_ok());
        assert_eq!(
            person_name("a\u{7}b"),
            Err(ValidationError::NameControlChars)
        );
    }

    #[test]
    fn group_names_reserve_roles() {
        assert!(group_name("Finance").is_ok());
        for reserved in ["admin", "Builder", "END-USER", "End User", "all users"] {
            assert!(matches!(
                group_name(reserved),
                Err(ValidationError::GroupReserved(_))
            ));
        }
        assert_eq!(
            group_list(&["Ops".into(), "ops".into()]),
            Err(ValidationError::GroupDuplicate("ops".into()))
        );
    }

    #[test]
    fn slugs() {
        assert!(workspace_slug("nexus").is_ok());
        assert!(workspace_slug("team-2").is_ok());
        for bad in ["", "Nexus", "-x", "a b", "a/b", &"a".repeat(41)] {
            assert!(workspace_slug(bad).is_err(), "{bad:?}");
        }
    }
}
