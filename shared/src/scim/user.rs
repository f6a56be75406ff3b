//! SCIM User ↔ membership: reading a tolerated User document into validated
//! fields, and rendering a membership as a User.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::schema::{AttrDef, AttrType, NAME_SUB, USER};
use super::value::{get_ci, lenient_bool};
use super::{ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA, TOOLJET_USER_SCHEMA, USER_SCHEMA};
use crate::{Email, Metadata, Role};

/// Longest accepted SCIM string attribute other than metadata values.
pub const MAX_ATTR_CHARS: usize = 1024;
/// Most e-mail entries kept per user.
pub const MAX_EMAILS: usize = 20;
/// Most entries kept per user in each other multi-valued attribute
/// (`phoneNumbers`, `addresses`, `ims`, `photos`).
pub const MAX_LIST_ENTRIES: usize = 20;

/// One entry of `emails`. Stored inside member records, whose encoding
/// is positional: no field may be skipped when serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimEmail {
    pub value: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub primary: Option<bool>,
}

/// The SCIM-only parts of a membership that roster keeps so that what an
/// IdP wrote reads back the same: name parts, display name, e-mails, and
/// the enterprise extension. Stored inside member records, whose encoding
/// is positional: no field may be skipped when serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimProfile {
    #[serde(default)]
    pub formatted: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<ScimEmail>,
    #[serde(default)]
    pub enterprise: Map<String, Value>,
    /// The core attributes kept as written (see [`AttrDef::kept`]) by
    /// their schema names; `name` holds the kept name parts. Last, so
    /// records written before it read with it empty.
    #[serde(default)]
    pub kept: Map<String, Value>,
}

/// One metadata entry as SCIM sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataEntry {
    pub key: String,
    pub value: String,
}

/// A User document, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserInput {
    pub email: Email,
    /// The member's name, from displayName, name.formatted or the name
    /// parts, in that order; `None` when the document names no one (a new
    /// member is then named after the e-mail's local part).
    pub name: Option<String>,
    pub profile: ScimProfile,
    /// `None` when the document does not say.
    pub active: Option<bool>,
    pub external_id: Option<String>,
    /// `None` when neither `roles` nor ToolJet's role attribute is given.
    pub role: Option<Role>,
    /// Visible metadata; `None` when the roster extension has no `metadata`.
    pub metadata: Option<Vec<MetadataEntry>>,
    /// Hidden metadata; `None` when the extension has no `hiddenMetadata`.
    pub hidden_metadata: Option<Vec<MetadataEntry>>,
}

impl ScimUserInput {
    /// Reads a User document (POST or PUT body, or a patched document).
    /// Unknown attributes and schemas, `id`, `meta`, `groups` and
    /// `password` are ignored.
    pub fn from_doc(doc: &Value) -> Result<Self, ScimError> {
        Self::from_patched_doc(doc, &[])
    }

    /// Reads a patched document: `emails` values the member already has
    /// pass unchecked, so one stored before addresses were checked does not
    /// block every later change (an identity provider's deactivation among
    /// them); values the patch brings in must be addresses.
    pub fn from_patched_doc(doc: &Value, stored: &[ScimEmail]) -> Result<Self, ScimError> {
        let o = doc
            .as_object()
            .ok_or_else(|| ScimError::invalid_value("a User must be a JSON object"))?;
        let user_name = string_attr(o, "userName")?.ok_or_else(|| {
            ScimError::invalid_value(
                "userName is required: roster uses it as the member's e-mail address",
            )
        })?;
        let email = Email::parse(&user_name).map_err(|_| {
            ScimError::invalid_value(format!(
                "userName \"{user_name}\" is not an e-mail address; roster invites members by e-mail, so userName must be one"
            ))
        })?;
        let mut profile = ScimProfile::default();
        if let Some(n) = get_ci(o, "name").filter(|v| !v.is_null()) {
            let n = n
                .as_object()
                .ok_or_else(|| ScimError::invalid_value("name must be an object"))?;
            profile.formatted = string_attr(n, "formatted")?;
            profile.given_name = string_attr(n, "givenName")?;
            profile.family_name = string_attr(n, "familyName")?;
            let parts = kept_attrs(n, NAME_SUB, "name.")?;
            if !parts.is_empty() {
                profile.kept.insert("name".into(), Value::Object(parts));
            }
        }
        profile.kept.extend(kept_attrs(o, USER.attributes, "")?);
        profile.display_name = string_attr(o, "displayName")?;
        profile.emails = emails(o)?;
        check_addresses(&profile.emails, stored)?;
        if let Some(ent) = extension(o, ENTERPRISE_USER_SCHEMA)? {
            profile.enterprise = enterprise(ent)?;
        }
        let active = match get_ci(o, "active") {
            None | Some(Value::Null) => None,
            Some(v) => Some(checked_bool(v, "active")?),
        };
        let external_id = string_attr(o, "externalId")?;
        let role = role(o)?;
        let (metadata, hidden_metadata) = match extension(o, ROSTER_USER_SCHEMA)? {
            Some(ext) => (
                metadata_entries(ext, "metadata")?,
                metadata_entries(ext, "hiddenMetadata")?,
            ),
            None => (None, None),
        };
        let name = derive_name(&profile)?;
        Ok(Self {
            email,
            name,
            profile,
            active,
            external_id,
            role,
            metadata,
            hidden_metadata,
        })
    }
}

fn derive_name(p: &ScimProfile) -> Result<Option<String>, ScimError> {
    let parts = [p.given_name.as_deref(), p.family_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let candidate = [
        p.display_name.as_deref(),
        p.formatted.as_deref(),
        Some(parts.as_str()),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|s| !s.is_empty());
    candidate
        .map(|c| {
            crate::names::person_name(c)
                .map_err(|e| ScimError::invalid_value(format!("the member's name: {e}")))
        })
        .transpose()
}

impl ScimUserInput {
    /// The name for a new member: the given one, else the e-mail's local part.
    pub fn name_for_new_member(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let local = self.email.as_str().split('@').next().unwrap_or_default();
            crate::names::person_name(local).unwrap_or_else(|_| self.email.as_str().to_string())
        })
    }
}

/// A string attribute, `None` when absent or null; too long or not a
/// string is refused.
fn string_attr(o: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => checked_string(v, name).map(Some),
    }
}

/// A string within [`MAX_ATTR_CHARS`]; `shown` names it in the refusal.
fn checked_string(v: &Value, shown: &str) -> Result<String, ScimError> {
    match v {
        Value::String(s) if s.chars().count() > MAX_ATTR_CHARS => Err(ScimError::invalid_value(
            format!("{shown} is longer than {MAX_ATTR_CHARS} characters"),
        )),
        Value::String(s) => Ok(s.clone()),
        other => Err(ScimError::invalid_value(format!(
            "{shown} must be a string, not {other}"
        ))),
    }
}

/// A boolean, also as some clients send one (`"False"`); `shown` names it
/// in the refusal.
fn checked_bool(v: &Value, shown: &str) -> Result<bool, ScimError> {
    lenient_bool(v)
        .ok_or_else(|| ScimError::invalid_value(format!("{shown} must be true or false, not {v}")))
}

/// The attributes among `defs` marked kept, checked against their types;
/// `path` prefixes names in errors.
fn kept_attrs(
    o: &Map<String, Value>,
    defs: &[AttrDef],
    path: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for def in defs.iter().filter(|d| d.kept) {
        let value = if def.ty == AttrType::Complex && def.multi {
            kept_list(o, def, path)?
        } else {
            simple_value(o, def, path)?
        };
        if let Some(v) = value {
            out.insert(def.name.to_string(), v);
        }
    }
    Ok(out)
}

/// A multi-valued complex attribute: each entry keeps the sub-attributes
/// the schema names; a single object counts as a list of one.
fn kept_list(
    o: &Map<String, Value>,
    def: &AttrDef,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    let name = format!("{path}{}", def.name);
    let items: Vec<&Value> = match get_ci(o, def.name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a.iter().filter(|v| !v.is_null()).collect(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "{name} must be a list of objects"
            )));
        }
    };
    if items.len() > MAX_LIST_ENTRIES {
        return Err(ScimError::invalid_value(format!(
            "more than {MAX_LIST_ENTRIES} entries in {name}"
        )));
    }
    let prefix = format!("{name}.");
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let m = item.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!("each entry of {name} must be an object"))
        })?;
        let mut entry = Map::new();
        for sub in def.sub {
            if let Some(v) = simple_value(m, sub, &prefix)? {
                entry.insert(sub.name.to_string(), v);
            }
        }
        if !entry.is_empty() {
            entries.push(Value::Object(entry));
        }
    }
    Ok((!entries.is_empty()).then_some(Value::Array(entries)))
}

/// A string or boolean attribute by its definition, checked as every
/// other one is.
fn simple_value(
    o: &Map<String, Value>,
    def: &AttrDef,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    let shown = || format!("{path}{}", def.name);
    match (get_ci(o, def.name), def.ty) {
        (None | Some(Value::Null), _) => Ok(None),
        (Some(v), AttrType::Boolean) => checked_bool(v, &shown()).map(|b| Some(Value::Bool(b))),
        (Some(v), _) => checked_string(v, &shown()).map(|s| Some(Value::String(s))),
    }
}

fn extension<'a>(
    o: &'a Map<String, Value>,
    urn: &str,
) -> Result<Option<&'a Map<String, Value>>, ScimError> {
    match get_ci(o, urn) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ScimError::invalid_value(format!(
            "\"{urn}\" must be an object"
        ))),
    }
}

fn emails(o: &Map<String, Value>) -> Result<Vec<ScimEmail>, ScimError> {
    let items: Vec<&Value> = match get_ci(o, "emails") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err(ScimError::invalid_value("emails must be a list of objects")),
    };
    if items.len() > MAX_EMAILS {
        return Err(ScimError::invalid_value(format!(
            "more than {MAX_EMAILS} emails"
        )));
    }
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            let e = v.as_object().ok_or_else(|| {
                ScimError::invalid_value("each entry of emails must be an object")
            })?;
            let value = string_attr(e, "value")?.unwrap_or_default();
            let primary = match get_ci(e, "primary") {
                None | Some(Value::Null) => None,
                Some(p) => Some(checked_bool(p, "emails.primary")?),
            };
            Ok(ScimEmail {
                value,
                kind: string_attr(e, "type")?,
                primary,
            })
        })
        .collect()
}

/// Identity providers find users by these addresses; a value that is not
/// one is a mapping mistake to show, not to store. Values already stored
/// stay as they are.
fn check_addresses(emails: &[ScimEmail], stored: &[ScimEmail]) -> Result<(), ScimError> {
    let new = emails
        .iter()
        .filter(|e| !e.value.trim().is_empty() && !stored.iter().any(|s| s.value == e.value));
    for e in new {
        if crate::Email::parse(&e.value).is_err() {
            return Err(ScimError::invalid_value(format!(
                "emails value \"{}\" is not an e-mail address",
                e.value
            )));
        }
    }
    Ok(())
}

fn enterprise(ent: &Map<String, Value>) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for name in [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
    ] {
        if let Some(s) = string_attr(ent, name)? {
            out.insert(name.to_string(), Value::String(s));
        }
    }
    // Entra sends the manager as an object, some clients as a bare id.
    let manager = match get_ci(ent, "manager") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Object(m)) => string_attr(m, "value")?,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "manager must be an id or an object with a value, not {other}"
            )));
        }
    };
    if let Some(id) = manager.filter(|s| !s.is_empty()) {
        if id.chars().count() > MAX_ATTR_CHARS {
            return Err(ScimError::invalid_value("manager is too long"));
        }
        out.insert("manager".into(), json!({ "value": id }));
    }
    Ok(out)
}

fn role(o: &Map<String, Value>) -> Result<Option<Role>, ScimError> {
    let parse = |raw: &str| Role::parse(raw).map_err(ScimError::from);
    if let Some(ext) = extension(o, TOOLJET_USER_SCHEMA)?
        && let Some(r) = string_attr(ext, "role")?
    {
        return parse(&r).map(Some);
    }
    let items: Vec<&Value> = match get_ci(o, "roles") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    };
    let value_of = |v: &Value| -> Result<Option<String>, ScimError> {
        match v {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Object(m) => string_attr(m, "value"),
            _ => Err(ScimError::invalid_value(
                "each entry of roles must be an object with a value",
            )),
        }
    };
    let primary = items.iter().find(|v| {
        v.as_object()
            .and_then(|m| get_ci(m, "primary"))
            .and_then(lenient_bool)
            .unwrap_or(false)
    });
    match primary.or(items.first()) {
        Some(v) => match value_of(v)? {
            Some(r) => parse(&r).map(Some),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

fn metadata_entries(
    ext: &Map<String, Value>,
    attr: &str,
) -> Result<Option<Vec<MetadataEntry>>, ScimError> {
    let items = match get_ci(ext, attr) {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "{attr} must be a list of {{\"key\", \"value\"}} objects"
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let m = it.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "each {attr} entry must be an object with key and value"
            ))
        })?;
        let key = match get_ci(m, "key") {
            Some(Value::String(k)) => k.clone(),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "an entry of {attr} has no key"
                )));
            }
        };
        let value = match get_ci(m, "value") {
            Some(Value::String(v)) => v.clone(),
            None | Some(Value::Null) => {
                return Err(ScimError::invalid_value(format!(
                    "{attr} entry \"{key}\" has no value"
                )));
            }
            Some(_) => {
                return Err(ScimError::invalid_value(format!(
                    "{attr} value of \"{key}\" is not a string"
                )));
            }
        };
        out.push(MetadataEntry { key, value });
    }
    Ok(Some(out))
}

/// The new metadata of a member: given visible entries replace the visible
/// keys, given hidden entries replace the hidden keys, and what is not given
/// stays as it was.
pub fn resolve_metadata(
    visible: Option<&[MetadataEntry]>,
    hidden: Option<&[MetadataEntry]>,
    previous: &Metadata,
) -> Result<Metadata, ScimError> {
    let old = |want_hidden: bool| -> Vec<MetadataEntry> {
        previous
            .values
            .iter()
            .filter(|(k, _)| previous.hidden.contains(*k) == want_hidden)
            .map(|(k, v)| MetadataEntry {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    };
    let visible = visible.map_or_else(|| old(false), <[_]>::to_vec);
    let hidden = hidden.map_or_else(|| old(true), <[_]>::to_vec);
    let mut values = std::collections::BTreeMap::new();
    for e in visible.iter().chain(&hidden) {
        if values.insert(e.key.clone(), e.value.clone()).is_some() {
            return Err(crate::ValidationError::MetadataKeyDuplicate(e.key.clone()).into());
        }
    }
    let hidden_keys: Vec<String> = hidden.iter().map(|e| e.key.clone()).collect();
    Ok(Metadata::from_map(values)?.with_hidden(hidden_keys)?)
}

/// A membership as the User renderer needs it.
#[derive(Debug, Clone)]
pub struct ScimUserView<'a> {
    pub id: String,
    pub external_id: Option<&'a str>,
    pub email: &'a str,
    pub name: &'a str,
    pub profile: Option<&'a ScimProfile>,
    pub active: bool,
    pub role: Role,
    /// (group id, group name).
    pub groups: Vec<(String, String)>,
    pub metadata: &'a Metadata,
    /// The PATCH working copy: hidden metadata included.
    pub working_copy: bool,
    pub status: &'a str,
    pub created: String,
    pub last_modified: String,
    pub version: String,
}

impl ScimUserView<'_> {
    /// The User document.
    pub fn to_json(&self, base_url: &str) -> Value {
        let empty = ScimProfile::default();
        let p = self.profile.unwrap_or(&empty);
        // A member an IdP never wrote gets its name and e-mail filled in;
        // one it wrote reads back exactly as written.
        let synthesize = self.profile.is_none();
        let mut name = Map::new();
        if let Some(f) = p
            .formatted
            .clone()
            .or_else(|| synthesize.then(|| self.name.to_string()))
        {
            name.insert("formatted".into(), Value::String(f));
        }
        if let Some(g) = &p.given_name {
            name.insert("givenName".into(), Value::String(g.clone()));
        }
        if let Some(f) = &p.family_name {
            name.insert("familyName".into(), Value::String(f.clone()));
        }
        let emails: Vec<Value> = if p.emails.is_empty() && synthesize {
            vec![json!({"value": self.email, "type": "work", "primary": true})]
        } else {
            p.emails
                .iter()
                .map(|e| {
                    let mut m = Map::new();
                    m.insert("value".into(), Value::String(e.value.clone()));
                    if let Some(t) = &e.kind {
                        m.insert("type".into(), Value::String(t.clone()));
                    }
                    if let Some(pr) = e.primary {
                        m.insert("primary".into(), Value::Bool(pr));
                    }
                    Value::Object(m)
                })
                .collect()
        };
        let location = format!("{base_url}/Users/{}", self.id);
        let entries = |hidden: bool| -> Vec<Value> {
            self.metadata
                .values
                .iter()
                .filter(|(k, _)| self.metadata.hidden.contains(*k) == hidden)
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()
        };
        let mut schemas = vec![USER_SCHEMA, ROSTER_USER_SCHEMA];
        let mut doc = json!({
            "id": self.id,
            "userName": self.email,
            "active": self.active,
            "emails": emails,
            "roles": [{"value": self.role.as_str()}],
            "groups": self.groups.iter().map(|(id, display)| json!({
                "value": id, "display": display, "$ref": format!("{base_url}/Groups/{id}"),
            })).collect::<Vec<_>>(),
            ROSTER_USER_SCHEMA: {
                "metadata": entries(false),
                "status": self.status,
            },
            "meta": {
                "resourceType": "User",
                "created": self.created,
                "lastModified": self.last_modified,
                "location": location,
                "version": self.version,
            },
        });
        for (key, value) in &p.kept {
            match (key.as_str(), value) {
                ("name", Value::Object(parts)) => name.extend(parts.clone()),
                _ => doc[key.as_str()] = value.clone(),
            }
        }
        if !name.is_empty() {
            doc["name"] = Value::Object(name);
        }
        if let Some(d) = p
            .display_name
            .clone()
            .or_else(|| synthesize.then(|| self.name.to_string()))
        {
            doc["displayName"] = Value::String(d);
        }
        if self.working_copy {
            doc[ROSTER_USER_SCHEMA]["hiddenMetadata"] = Value::Array(entries(true));
        }
        if let Some(x) = self.external_id {
            doc["externalId"] = Value::String(x.to_string());
        }
        if !p.enterprise.is_empty() {
            doc[ENTERPRISE_USER_SCHEMA] = Value::Object(p.enterprise.clone());
            schemas.insert(1, ENTERPRISE_USER_SCHEMA);
        }
        doc["schemas"] = json!(schemas);
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::value::get_ci;

    /// RFC 7643 §8.2's full User, with an e-mail as userName.
    fn rfc_full_user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                     "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "profileUrl": "https://login.example.com/bjensen",
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "userType": "Employee",
            "active": true,
            "password": "t1meMa$heen",
            "groups": [{"value": "e9e30dba", "$ref": "https://example.com/v2/Groups/e9e30dba", "display": "Tour Guides"}],
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                "division": "Theme Park", "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915", "displayName": "John Smith"}
            },
            "meta": {"resourceType": "User", "version": "W/\"3694e05e9dff591\""}
        })
    }

    #[test]
    fn rfc_example_user_round_trips_what_roster_keeps() {
        let input = ScimUserInput::from_doc(&rfc_full_user()).expect("valid");
        assert_eq!(input.email.as_str(), "bjensen@example.com");
        assert_eq!(input.name.as_deref(), Some("Babs Jensen"));
        assert_eq!(input.active, Some(true));
        assert_eq!(input.external_id.as_deref(), Some("701984"));
        assert_eq!(input.role, None);
        let md = Metadata::default();
        let view = ScimUserView {
            id: "m1".into(),
            external_id: input.external_id.as_deref(),
            email: input.email.as_str(),
            name: "Babs Jensen",
            profile: Some(&input.profile),
            active: true,
            role: Role::EndUser,
            groups: vec![],
            metadata: &md,
            working_copy: false,
            status: "active",
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            version: "W/\"1\"".into(),
        };
        let out = view.to_json("https://h/scim/v2");
        let again = ScimUserInput::from_doc(&out).expect("our own output reads back");
        assert_eq!(again.profile, input.profile);
        assert_eq!(again.email, input.email);
        assert_eq!(out["name"]["formatted"], "Ms. Barbara J Jensen, III");
        // Attributes roster gives no meaning read back as written.
        let rfc = rfc_full_user();
        for kept in ["nickName", "profileUrl", "userType"] {
            assert_eq!(out[kept], rfc[kept], "{kept}");
        }
        assert_eq!(out["name"], rfc["name"]);
        assert_eq!(
            out[ENTERPRISE_USER_SCHEMA]["manager"]["value"],
            "26118915-6090-4610-87e4-49d8ca9f808d"
        );
        assert!(
            out.get("password").is_none(),
            "passwords are never returned"
        );
        assert_eq!(out["meta"]["location"], "https://h/scim/v2/Users/m1");
        assert!(get_ci(out.as_object().expect("object"), "schemas").is_some());
    }

    #[test]
    fn entra_phone_numbers_addresses_and_title_are_kept() {
        let doc = json!({
            "userName": "kim@contoso.com",
            "Title": "Engineer",
            "preferredLanguage": "de-DE",
            "phoneNumbers": [
                {"type": "work", "value": "+49 30 1234", "Primary": "True"},
                {"type": "mobile", "value": "+49 170 1234", "extension": "dropped"},
            ],
            "addresses": {"type": "work", "locality": "Berlin", "country": "DE"},
        });
        let u = ScimUserInput::from_doc(&doc).expect("valid");
        assert_eq!(u.profile.kept["title"], "Engineer");
        assert_eq!(u.profile.kept["preferredLanguage"], "de-DE");
        assert_eq!(
            u.profile.kept["phoneNumbers"],
            json!([
                {"type": "work", "value": "+49 30 1234", "primary": true},
                {"type": "mobile", "value": "+49 170 1234"},
            ])
        );
        assert_eq!(
            u.profile.kept["addresses"],
            json!([{"type": "work", "locality": "Berlin", "country": "DE"}])
        );
        // The stored form reads back (records are positional MessagePack).
        let bytes = rmp_serde::to_vec(&u.profile).expect("encode");
        let back: ScimProfile = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(back, u.profile);
    }

    #[test]
    fn kept_attributes_of_the_wrong_shape_are_refused_by_name() {
        for (doc, want) in [
            (json!({"title": 7}), "title must be a string, not 7"),
            (
                json!({"phoneNumbers": "555"}),
                "phoneNumbers must be a list of objects",
            ),
            (
                json!({"phoneNumbers": [{"value": 555}]}),
                "phoneNumbers.value must be a string, not 555",
            ),
            (
                json!({"addresses": [{"primary": "maybe"}]}),
                "addresses.primary must be true or false, not \"maybe\"",
            ),
            (
                json!({"name": {"middleName": ["J"]}}),
                "name.middleName must be a string, not [\"J\"]",
            ),
        ] {
            let mut doc = doc;
            doc["userName"] = json!("x@example.com");
            let e = ScimUserInput::from_doc(&doc).expect_err("refused");
            assert_eq!(e.status, 400, "{doc}");
            assert!(e.detail.contains(want), "{} for {doc}", e.detail);
        }
    }

    #[test]
    fn records_written_before_kept_attributes_still_read() {
        #[derive(Serialize)]
        struct Before {
            formatted: Option<String>,
            given_name: Option<String>,
            family_name: Option<String>,
            display_name: Option<String>,
            emails: Vec<ScimEmail>,
            enterprise: Map<String, Value>,
        }
        let old = Before {
            formatted: Some("Ada".into()),
            given_name: None,
            family_name: None,
            display_name: None,
            emails: Vec::new(),
            enterprise: Map::new(),
        };
        let bytes = rmp_serde::to_vec(&old).expect("encode");
        let read: ScimProfile = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(read.formatted.as_deref(), Some("Ada"));
        assert!(read.kept.is_empty());
    }

    #[test]
    fn tolerated_inputs() {
        let doc = json!({
            "schemas": [USER_SCHEMA, "urn:example:unknown:2.0:User"],
            "UserName": "  Ada@Example.COM ",
            "Active": "False",
            "roles": [{"value": "Builder", "primary": "True"}],
            ENTERPRISE_USER_SCHEMA: {"manager": "m-42"},
            "urn:example:unknown:2.0:User": {"x": 1},
            "emails": {"value": "ada@example.com"},
        });
        let u = ScimUserInput::from_doc(&doc).expect("tolerated");
        assert_eq!(u.email.key(), "ada@example.com");
        assert_eq!(u.active, Some(false));
        assert_eq!(u.role, Some(Role::Builder));
        assert_eq!(u.profile.enterprise["manager"], json!({"value": "m-42"}));
        assert_eq!(u.name, None);
        assert_eq!(u.name_for_new_member(), "Ada");
        let tj = json!({"userName": "t@example.com", "roles": [{"value": "end-user"}],
            TOOLJET_USER_SCHEMA: {"role": "Admin"}});
        assert_eq!(
            ScimUserInput::from_doc(&tj).expect("valid").role,
            Some(Role::Admin)
        );
    }

    #[test]
    fn a_patch_keeps_a_stored_non_address_but_brings_in_none() {
        let stored = [ScimEmail {
            value: "ada at work".into(),
            kind: Some("work".into()),
            primary: None,
        }];
        let kept = json!({"userName": "ada@example.com", "active": false,
            "emails": [{"value": "ada at work", "type": "work"}]});
        let u = ScimUserInput::from_patched_doc(&kept, &stored).expect("stored value kept");
        assert_eq!(u.profile.emails[0].value, "ada at work");
        assert_eq!(u.active, Some(false));
        let added = json!({"userName": "ada@example.com",
            "emails": [{"value": "ada at work"}, {"value": "home"}]});
        let err = ScimUserInput::from_patched_doc(&added, &stored).expect_err("new value checked");
        assert!(
            err.detail.contains("emails value \"home\""),
            "{}",
            err.detail
        );
        assert!(
            ScimUserInput::from_doc(&kept).is_err(),
            "a PUT body is checked whole"
        );
    }

    #[test]
    fn refusals_name_the_attribute() {
        let cases = [
            (json!({}), "userName is required"),
            (json!({"userName": "bjensen"}), "not an e-mail address"),
            (
                json!({"userName": "a@b.co", "emails": [{"value": "a@b.co"}, {"value": "zzz", "type": "work"}]}),
                "emails value \"zzz\" is not an e-mail address",
            ),
            (
                json!({"userName": "a@b.co", "active": "maybe"}),
                "active must be true or false",
            ),
            (
                json!({"userName": "a@b.co", "roles": [{"value": "owner"}]}),
                "unknown role",
            ),
            (
                json!({"userName": "a@b.co", "name": "x"}),
                "name must be an object",
            ),
            (
                json!({"userName": "a@b.co", "displayName": 5}),
                "displayName must be a string",
            ),
            (
                json!({"userName": "a@b.co", ROSTER_USER_SCHEMA: {"metadata": [{"key": "bad key!", "value": "x"}]}}),
                "",
            ),
        ];
        for (doc, want) in cases {
            let e = ScimUserInput::from_doc(&doc)
                .and_then(|u| {
                    resolve_metadata(u.metadata.as_deref(), None, &Metadata::default()).map(|_| ())
                })
                .expect_err(&doc.to_string());
            assert_eq!(e.status, 400);
            assert!(e.detail.contains(want), "{doc}: {}", e.detail);
        }
    }

    #[test]
    fn hidden_and_visible_metadata_are_replaced_separately() {
        let old = Metadata::parse_json(r#"{"apiKey": "s3cret", "team": "blue"}"#)
            .expect("valid")
            .with_hidden(["apiKey"])
            .expect("valid");
        let e = |k: &str, v: &str| MetadataEntry {
            key: k.into(),
            value: v.into(),
        };
        let new = resolve_metadata(Some(&[e("team", "red")]), None, &old).expect("valid");
        assert_eq!(
            new.values["apiKey"], "s3cret",
            "hidden keys stay when not given"
        );
        assert_eq!(new.values["team"], "red");
        assert!(new.hidden.contains("apiKey"));
        let new = resolve_metadata(None, Some(&[e("token", "t")]), &old).expect("valid");
        assert!(!new.values.contains_key("apiKey"));
        assert_eq!(new.values["team"], "blue");
        assert!(new.hidden.contains("token"));
        assert!(resolve_metadata(Some(&[e("x", "1")]), Some(&[e("x", "2")]), &old).is_err());
    }
}
