//! What each column of an import file means: ToolJet's bulk-invite template
//! (`First Name,Last Name,Email,User Role,Group[,Metadata]`) and our own
//! (`name,email,role,groups,metadata`), names case-insensitive, any order.

use csv::ByteRecord;

use crate::service::imports::ImportRow;

/// A column the importer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Email,
    Name,
    FirstName,
    LastName,
    Role,
    Groups,
    Metadata,
}

impl Meaning {
    /// Header spellings, compared without case, spaces, `-` or `_`.
    fn of(header: &str) -> Option<Self> {
        let folded: String = header
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match folded.as_str() {
            // HR systems' exports: Workday and BambooHR say "Work Email".
            "email" | "emailaddress" | "mail" | "workemail" | "workemailaddress"
            | "businessemail" | "primaryemail" => Meaning::Email,
            "name" | "fullname" | "displayname" => Meaning::Name,
            "firstname" | "givenname" => Meaning::FirstName,
            "lastname" | "familyname" | "surname" => Meaning::LastName,
            "role" | "userrole" => Meaning::Role,
            "group" | "groups" => Meaning::Groups,
            "metadata" => Meaning::Metadata,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Meaning::Email => "the e-mail",
            Meaning::Name => "the name",
            Meaning::FirstName => "the first name",
            Meaning::LastName => "the last name",
            Meaning::Role => "the role",
            Meaning::Groups => "the groups",
            Meaning::Metadata => "the metadata",
        }
    }
}

/// Why a header cannot be used; the whole file fails with this sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "the header row is not valid UTF-8; save the file as UTF-8 CSV (in Excel: Save As, \"CSV UTF-8 (Comma delimited)\")"
    )]
    NotUtf8,
    #[error(
        "the header has no e-mail column; the first line must name the columns, separated by commas, semicolons or tabs, e.g. name,email,role,groups,metadata or ToolJet's First Name,Last Name,Email,User Role,Group"
    )]
    NoEmail,
    #[error("columns \"{first}\" and \"{second}\" both give {what}; keep one")]
    Duplicate {
        first: String,
        second: String,
        what: &'static str,
    },
    #[error(
        "the file mixes a \"{name}\" column with first/last name columns; use one or the other"
    )]
    MixedNames { name: String },
}

/// Why one data row cannot be read; the row becomes an `error` line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("the row has {got} fields but the header has {want}; quote fields that contain commas")]
    Width { got: usize, want: usize },
    #[error(
        "the row is not valid UTF-8 text (a file saved as Excel's plain \"CSV\" uses the computer's legacy encoding); save the file as \"CSV UTF-8\" and drop it again"
    )]
    NotUtf8,
}

/// Where each understood column is in a file's rows.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    width: usize,
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    role: Option<usize>,
    groups: Option<usize>,
    metadata: Option<usize>,
    /// Header names that mean nothing to the importer (reported, not fatal).
    pub ignored: Vec<String>,
}

impl ColumnMap {
    /// Reads the header row.
    pub fn from_header(header: &ByteRecord) -> Result<Self, HeaderError> {
        let mut found: Vec<(Meaning, usize, String)> = Vec::new();
        let mut ignored = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| HeaderError::NotUtf8)?;
            let name = name.trim_start_matches('\u{feff}').trim();
            match Meaning::of(name) {
                Some(m) => {
                    if let Some((_, _, first)) = found.iter().find(|(seen, _, _)| *seen == m) {
                        return Err(HeaderError::Duplicate {
                            first: first.clone(),
                            second: name.to_string(),
                            what: m.describe(),
                        });
                    }
                    found.push((m, i, name.to_string()));
                }
                None if name.is_empty() => {}
                None => ignored.push(name.to_string()),
            }
        }
        let at = |m: Meaning| found.iter().find(|(s, _, _)| *s == m).map(|(_, i, _)| *i);
        let email = at(Meaning::Email).ok_or(HeaderError::NoEmail)?;
        let name = at(Meaning::Name);
        if let Some((_, _, n)) = found.iter().find(|(s, _, _)| *s == Meaning::Name)
            && (at(Meaning::FirstName).is_some() || at(Meaning::LastName).is_some())
        {
            return Err(HeaderError::MixedNames { name: n.clone() });
        }
        Ok(Self {
            width: header.len(),
            email,
            name,
            first: at(Meaning::FirstName),
            last: at(Meaning::LastName),
            role: at(Meaning::Role),
            groups: at(Meaning::Groups),
            metadata: at(Meaning::Metadata),
            ignored,
        })
    }

    /// The e-mail cell of a row as written (for reports and duplicates),
    /// even when the rest of the row cannot be read.
    pub fn email_of(&self, record: &ByteRecord) -> String {
        record
            .get(self.email)
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .unwrap_or_default()
    }

    /// Turns a data row into what it asks for.
    pub fn row(&self, record: &ByteRecord) -> Result<ImportRow, RowError> {
        if record.len() != self.width {
            return Err(RowError::Width {
                got: record.len(),
                want: self.width,
            });
        }
        let cell = |i: Option<usize>| -> Result<Option<&str>, RowError> {
            match i.and_then(|i| record.get(i)) {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b)
                    .map(|s| Some(s.trim()))
                    .map_err(|_| RowError::NotUtf8),
            }
        };
        let given = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
        let name = match self.name {
            Some(_) => given(cell(self.name)?),
            None => {
                let parts: Vec<&str> = [cell(self.first)?, cell(self.last)?]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
        };
        let groups = cell(self.groups)?.map(|raw| {
            raw.split(['|', ';'])
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect()
        });
        Ok(ImportRow {
            email: cell(Some(self.email))?.unwrap_or_default().to_string(),
            name,
            role: given(cell(self.role)?),
            groups,
            metadata: given(cell(self.metadata)?),
        })
    }

    /// Whether every cell of a row is empty (spreadsheets pad files with
    /// such rows; they are skipped, not reported).
    pub fn is_blank(record: &ByteRecord) -> bool {
        record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn tooljet_template_maps_to_name_role_and_pipe_separated_groups() {
        let map = ColumnMap::from_header(&rec(&[
            "First Name",
            "Last Name",
            "Email",
            "User Role",
            "Group",
            "Metadata",
        ]))
        .expect("header");
        let row = map
            .row(&rec(&[
                "Ada",
                "Lovelace",
                " ada@example.com ",
                "End User",
                "Eng|Ops",
                r#"{"team":"core"}"#,
            ]))
            .expect("row");
        assert_eq!(
            row,
            ImportRow {
                email: "ada@example.com".into(),
                name: Some("Ada Lovelace".into()),
                role: Some("End User".into()),
                groups: Some(vec!["Eng".into(), "Ops".into()]),
                metadata: Some(r#"{"team":"core"}"#.into()),
            }
        );
    }

    #[test]
    fn our_columns_in_any_order_and_case_with_semicolons() {
        let map =
            ColumnMap::from_header(&rec(&["GROUPS", "\u{feff}email", "Role", "name"])).expect("h");
        let row = map
            .row(&rec(&["a; b", "x@y.z", "admin", "X Y"]))
            .expect("row");
        assert_eq!(row.groups, Some(vec!["a".into(), "b".into()]));
        assert_eq!(row.email, "x@y.z");
        assert_eq!(row.name.as_deref(), Some("X Y"));
    }

    #[test]
    fn absent_columns_and_empty_cells_mean_keep_but_empty_groups_mean_none() {
        let map = ColumnMap::from_header(&rec(&["email", "groups", "role"])).expect("h");
        let row = map.row(&rec(&["x@y.z", "", ""])).expect("row");
        assert_eq!(row.name, None);
        assert_eq!(row.role, None);
        assert_eq!(row.metadata, None);
        assert_eq!(row.groups, Some(vec![]));
        let map = ColumnMap::from_header(&rec(&["email"])).expect("h");
        assert_eq!(map.row(&rec(&["x@y.z"])).expect("row").groups, None);
    }

    #[test]
    fn exports_of_hr_systems_are_read_by_their_own_column_names() {
        let header = rec(&["Employee ID", "Full Name", "Work Email", "Department"]);
        let map = ColumnMap::from_header(&header).expect("header");
        let row = map
            .row(&rec(&["E42", "Ada Lovelace", "ada@example.com", "R&D"]))
            .expect("row");
        assert_eq!(row.email, "ada@example.com");
        assert_eq!(row.name.as_deref(), Some("Ada Lovelace"));
        for email in [
            "Work Email Address",
            "Business E-mail",
            "Primary_Email",
            "E-Mail",
        ] {
            let map = ColumnMap::from_header(&rec(&[email])).expect(email);
            assert_eq!(
                map.row(&rec(&["x@y.z"])).expect("row").email,
                "x@y.z",
                "{email}"
            );
        }
    }

    #[test]
    fn headers_that_cannot_be_used_say_why() {
        assert_eq!(
            ColumnMap::from_header(&rec(&["name", "role"])).expect_err("no email"),
            HeaderError::NoEmail
        );
        let dup = ColumnMap::from_header(&rec(&["Email", "e-mail"])).expect_err("dup");
        assert_eq!(
            dup.to_string(),
            "columns \"Email\" and \"e-mail\" both give the e-mail; keep one"
        );
        assert!(matches!(
            ColumnMap::from_header(&rec(&["name", "first name", "email"])),
            Err(HeaderError::MixedNames { .. })
        ));
        let bad = ByteRecord::from(vec![&b"em\xffail"[..]]);
        assert_eq!(
            ColumnMap::from_header(&bad).expect_err("utf8"),
            HeaderError::NotUtf8
        );
    }

    #[test]
    fn unknown_columns_are_kept_aside() {
        let map = ColumnMap::from_header(&rec(&["email", "Department", ""])).expect("h");
        assert_eq!(map.ignored, vec!["Department".to_string()]);
    }

    #[test]
    fn rows_of_the_wrong_width_or_encoding_are_refused() {
        let map = ColumnMap::from_header(&rec(&["email", "name"])).expect("h");
        assert_eq!(
            map.row(&rec(&["a@b.c", "A", "extra"])).expect_err("wide"),
            RowError::Width { got: 3, want: 2 }
        );
        let bad = ByteRecord::from(vec![&b"a@b.c"[..], &b"\xff"[..]]);
        assert_eq!(map.row(&bad).expect_err("utf8"), RowError::NotUtf8);
        assert_eq!(map.email_of(&bad), "a@b.c");
        assert!(ColumnMap::is_blank(&rec(&["", " "])));
        assert!(!ColumnMap::is_blank(&rec(&["", "x"])));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// Whatever bytes a file holds, its header and rows are read or
        /// refused with a sentence, never a panic.
        #[test]
        fn any_bytes_read_as_rows_or_are_refused(
            header in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b"email".to_vec()),
                    proptest::strategy::Just(b"First Name".to_vec()),
                    proptest::strategy::Just(b"groups".to_vec()),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
                ],
                0..6,
            ),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let mut text = header.join(&b","[..]);
            text.push(b'\n');
            text.extend(body);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_slice());
            let mut record = ByteRecord::new();
            if let Ok(true) = reader.read_byte_record(&mut record)
                && let Ok(map) = ColumnMap::from_header(&record)
            {
                while let Ok(true) = reader.read_byte_record(&mut record) {
                    let _ = map.email_of(&record);
                    let _ = map.row(&record);
                    let _ = ColumnMap::is_blank(&record);
                }
            }
        }
    }
}
