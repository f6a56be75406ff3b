//! The attributes roster supports, described once: the `/Schemas` and
//! `/ResourceTypes` documents, filter case-sensitivity and `returned`
//! projection are all read from these tables, so they cannot disagree.

use serde_json::{Value, json};

use super::*;

/// SCIM attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Complex,
    Reference,
    DateTime,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [AttrDef],
    /// Kept exactly as the client wrote it and returned as it is: an
    /// attribute roster stores for identity providers but gives no meaning
    /// (a title, phone numbers). User reading keeps every such attribute.
    pub kept: bool,
}

impl AttrDef {
    const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            description,
            canonical: &[],
            reference_types: &[],
            sub: &[],
            kept: false,
        }
    }
    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }
    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Boolean, description)
    }
    const fn complex(
        name: &'static str,
        description: &'static str,
        sub: &'static [AttrDef],
    ) -> Self {
        let mut a = Self::new(name, AttrType::Complex, description);
        a.sub = sub;
        a
    }
    const fn reference(
        name: &'static str,
        description: &'static str,
        types: &'static [&'static str],
    ) -> Self {
        let mut a = Self::new(name, AttrType::Reference, description);
        a.reference_types = types;
        a.case_exact = true;
        a
    }
    const fn kept(mut self) -> Self {
        self.kept = true;
        self
    }
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn write_only(mut self) -> Self {
        self.mutability = Mutability::WriteOnly;
        self.returned = Returned::Never;
        self
    }
    const fn always(mut self) -> Self {
        self.returned = Returned::Always;
        self
    }
    const fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }

    /// The sub-attribute `name`, case-insensitively.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn to_json(self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": match self.ty {
                AttrType::String => "string",
                AttrType::Boolean => "boolean",
                AttrType::Complex => "complex",
                AttrType::Reference => "reference",
                AttrType::DateTime => "dateTime",
            },
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            },
            "returned": match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            },
            "uniqueness": match self.uniqueness {
                Uniqueness::None => "none",
                Uniqueness::Server => "server",
            },
        });
        if !self.canonical.is_empty() {
            v["canonicalValues"] = json!(self.canonical);
        }
        if !self.reference_types.is_empty() {
            v["referenceTypes"] = json!(self.reference_types);
        }
        if !self.sub.is_empty() {
            v["subAttributes"] = Value::Array(self.sub.iter().map(|a| a.to_json()).collect());
        }
        v
    }
}

/// One schema: its URN and attributes.
#[derive(Debug, Clone, Copy)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

impl SchemaDef {
    /// The attribute `name`, case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §7 schema document.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", self.id)},
        })
    }
}

const ID: AttrDef = AttrDef::string(
    "id",
    "Identifier assigned by roster; stable for the life of the resource.",
)
.exact()
.read_only()
.always()
.unique();
const EXTERNAL_ID: AttrDef = AttrDef::string(
    "externalId",
    "The identifier the provisioning client uses for this resource.",
)
.exact();

/// The parts of `name`.
pub const NAME_SUB: &[AttrDef] = &[
    AttrDef::string(
        "formatted",
        "The full name; when given without parts it is the member's name.",
    ),
    AttrDef::string("familyName", "Family name."),
    AttrDef::string("givenName", "Given name."),
    AttrDef::string("middleName", "Middle name.").kept(),
    AttrDef::string("honorificPrefix", "Honorific prefix, e.g. Ms.").kept(),
    AttrDef::string("honorificSuffix", "Honorific suffix, e.g. III").kept(),
];
const EMAIL_SUB: &[AttrDef] = &[
    AttrDef::string("value", "E-mail address."),
    AttrDef::string("type", "work, home or other.").canonical(&["work", "home", "other"]),
    AttrDef::boolean("primary", "The primary address."),
];
const PHONE_SUB: &[AttrDef] = &[
    AttrDef::string("value", "Phone number."),
    AttrDef::string("display", "The number as people read it."),
    AttrDef::string("type", "work, home, mobile, fax, pager or other.")
        .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    AttrDef::boolean("primary", "The primary number."),
];
const IM_SUB: &[AttrDef] = &[
    AttrDef::string("value", "Instant messaging address."),
    AttrDef::string("display", "The address as people read it."),
    AttrDef::string("type", "The messaging service, e.g. xmpp or skype."),
    AttrDef::boolean("primary", "The primary address."),
];
const PHOTO_SUB: &[AttrDef] = &[
    AttrDef::reference("value", "URL of the image.", &["external"]),
    AttrDef::string("display", "What the image shows."),
    AttrDef::string("type", "photo or thumbnail.").canonical(&["photo", "thumbnail"]),
    AttrDef::boolean("primary", "The primary image."),
];
const ADDRESS_SUB: &[AttrDef] = &[
    AttrDef::string("formatted", "The whole address as it is shown."),
    AttrDef::string("streetAddress", "Street, house number, P.O. box."),
    AttrDef::string("locality", "City or locality."),
    AttrDef::string("region", "State or region."),
    AttrDef::string("postalCode", "Postal code."),
    AttrDef::string("country", "Country (ISO 3166-1 alpha-2)."),
    AttrDef::string("type", "work, home or other.").canonical(&["work", "home", "other"]),
    AttrDef::boolean("primary", "The primary address."),
];
const ROLE_SUB: &[AttrDef] = &[AttrDef::string(
    "value",
    "The member's role in the workspace: admin, builder or end-user.",
)
.canonical(&["admin", "builder", "end-user"])];
const USER_GROUP_SUB: &[AttrDef] = &[
    AttrDef::string("value", "Id of the group.")
        .exact()
        .read_only(),
    AttrDef::reference("$ref", "URI of the group.", &["Group"]).read_only(),
    AttrDef::string("display", "Name of the group.").read_only(),
];

/// The core User attributes roster stores and returns.
pub const USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "A member of a roster workspace; userName is the e-mail address.",
    attributes: &[
        ID,
        EXTERNAL_ID,
        AttrDef::string(
            "userName",
            "The member's e-mail address; unique in the workspace, compared case-insensitively.",
        )
        .required()
        .unique(),
        AttrDef::complex("name", "The member's name.", NAME_SUB),
        AttrDef::string("displayName", "The name shown for the member."),
        AttrDef::boolean(
            "active",
            "false archives the member (open invites are revoked); true brings them back.",
        ),
        AttrDef::string(
            "password",
            "Accepted for compatibility and discarded: roster stores no passwords.",
        )
        .write_only(),
        AttrDef::complex(
            "emails",
            "E-mail addresses; userName is the one roster invites.",
            EMAIL_SUB,
        )
        .multi(),
        AttrDef::complex(
            "roles",
            "The member's one role; end-user when a new User names none. Cannot be removed.",
            ROLE_SUB,
        )
        .multi()
        .required(),
        AttrDef::complex(
            "groups",
            "The custom groups the member belongs to (change them through Groups).",
            USER_GROUP_SUB,
        )
        .multi()
        .read_only(),
        // Kept for identity providers and returned as written.
        AttrDef::string("nickName", "Casual name.").kept(),
        AttrDef::reference("profileUrl", "URL of the member's profile.", &["external"]).kept(),
        AttrDef::string("title", "Job title.").kept(),
        AttrDef::string(
            "userType",
            "Relationship to the organisation, e.g. Employee.",
        )
        .kept(),
        AttrDef::string("preferredLanguage", "Preferred language, e.g. en-US.").kept(),
        AttrDef::string("locale", "Locale for dates and numbers, e.g. en-US.").kept(),
        AttrDef::string("timezone", "Time zone, e.g. Europe/Berlin.").kept(),
        AttrDef::complex("phoneNumbers", "Phone numbers.", PHONE_SUB)
            .multi()
            .kept(),
        AttrDef::complex("ims", "Instant messaging addresses.", IM_SUB)
            .multi()
            .kept(),
        AttrDef::complex("photos", "Images of the member.", PHOTO_SUB)
            .multi()
            .kept(),
        AttrDef::complex("addresses", "Physical addresses.", ADDRESS_SUB)
            .multi()
            .kept(),
    ],
};

const MANAGER_SUB: &[AttrDef] = &[
    AttrDef::string("value", "Id of the manager's User.").exact(),
    AttrDef::string("displayName", "Name of the manager.").read_only(),
];

/// The enterprise extension attributes roster keeps (RFC 7643 §4.3).
pub const ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        AttrDef::string("employeeNumber", "Employee number."),
        AttrDef::string("costCenter", "Cost center."),
        AttrDef::string("organization", "Organization."),
        AttrDef::string("division", "Division."),
        AttrDef::string("department", "Department."),
        AttrDef::complex(
            "manager",
            "The member's manager; a bare id string is accepted too.",
            MANAGER_SUB,
        ),
    ],
};

/// ToolJet's role attribute, for IdP apps configured for ToolJet: accepted
/// on input (POST, PUT, PATCH) but not advertised in discovery nor
/// returned, because its URN (version before the resource name) does not
/// follow RFC 7643's form and strict clients cannot parse paths under it;
/// reads carry the role in `roles`.
pub const TOOLJET_USER: SchemaDef = SchemaDef {
    id: TOOLJET_USER_SCHEMA,
    name: "ToolJetUser",
    description: "ToolJet's user extension: the workspace role.",
    attributes: &[AttrDef::string(
        "role",
        "admin, builder or end-user (ToolJet spellings such as \"End User\" are accepted).",
    )
    .canonical(&["admin", "builder", "end-user"])],
};

const METADATA_SUB: &[AttrDef] = &[
    AttrDef::string("key", "1-64 characters from A-Z a-z 0-9 _ . -")
        .exact()
        .required(),
    AttrDef::string("value", "At most 2,000 characters.").exact(),
];

/// roster's own extension: metadata, hidden metadata and the invite status.
pub const ROSTER_USER: SchemaDef = SchemaDef {
    id: ROSTER_USER_SCHEMA,
    name: "RosterUser",
    description: "roster membership details.",
    attributes: &[
        AttrDef::complex("metadata", "Key/value metadata for apps (200,000 characters in all with hiddenMetadata). When given, it replaces the visible keys.", METADATA_SUB).multi(),
        AttrDef::complex("hiddenMetadata", "Metadata whose values are write-only (API keys and the like): never returned. When given, it replaces the hidden keys.", METADATA_SUB)
            .multi()
            .write_only(),
        AttrDef::string("status", "requested, invited, active or archived.")
            .read_only()
            .canonical(&["requested", "invited", "active", "archived"]),
    ],
};

const MEMBER_SUB: &[AttrDef] = &[
    AttrDef::string("value", "Id of a member User.")
        .exact()
        .required(),
    AttrDef::reference("$ref", "URI of the member.", &["User"]).read_only(),
    AttrDef::string("display", "Name of the member.").read_only(),
    AttrDef::string("type", "Always User.")
        .read_only()
        .canonical(&["User"]),
];

/// The core Group attributes: roster's custom groups.
pub const GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "A custom group of a roster workspace.",
    attributes: &[
        ID,
        EXTERNAL_ID,
        AttrDef::string("displayName", "The group's name; unique in the workspace, compared case-insensitively; role names are reserved.")
            .required()
            .unique(),
        AttrDef::complex("members", "The group's members (Users only).", MEMBER_SUB).multi(),
    ],
};

/// Every schema, in the order `/Schemas` lists them.
pub const ALL: [&SchemaDef; 4] = [&USER, &GROUP, &ENTERPRISE_USER, &ROSTER_USER];

/// The two resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The core schema of the type.
    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER,
            Self::Group => &GROUP,
        }
    }

    /// The extension schemas of the type, as discovery advertises them.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            Self::User => &[&ENTERPRISE_USER, &ROSTER_USER],
            Self::Group => &[],
        }
    }

    /// The extensions accepted in request bodies and PATCH paths: the
    /// advertised ones plus ToolJet's.
    pub fn accepted_extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            Self::User => &[&ENTERPRISE_USER, &ROSTER_USER, &TOOLJET_USER],
            Self::Group => &[],
        }
    }

    /// The endpoint name.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    /// The `meta.resourceType` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// Finds an attribute by optional schema URN, name and sub-attribute.
    /// `meta` and `schemas` are common attributes, not in the tables.
    pub fn attr(self, uri: Option<&str>, name: &str) -> Option<&'static AttrDef> {
        match uri {
            Some(u) if u.eq_ignore_ascii_case(self.core().id) => self.core().attr(name),
            Some(u) => self
                .accepted_extensions()
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(u))
                .and_then(|s| s.attr(name)),
            None => self.core().attr(name),
        }
    }

    /// What a filter or PATCH path compares: the sub-attribute named, or a
    /// complex attribute's `value`, or the attribute itself. `meta` is not
    /// in the tables (its rules are the caller's).
    pub fn compared(
        self,
        uri: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<&'static AttrDef> {
        let a = self.attr(uri, name)?;
        match sub {
            Some(s) => a.sub_attr(s),
            None if a.ty == AttrType::Complex => a.sub_attr("value"),
            None => Some(a),
        }
    }

    /// Whether string comparisons on this attribute are case-sensitive.
    pub fn case_exact(self, uri: Option<&str>, name: &str, sub: Option<&str>) -> bool {
        self.compared(uri, name, sub).is_some_and(|d| d.case_exact)
    }

    /// The `/ResourceTypes` entry.
    pub fn resource_type_json(self, base_url: &str) -> Value {
        let mut v = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name(),
            "name": self.name(),
            "endpoint": format!("/{}", self.endpoint()),
            "description": self.core().description,
            "schema": self.core().id,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", self.name())},
        });
        let ext: Vec<Value> = self
            .extensions()
            .iter()
            .map(|s| json!({"schema": s.id, "required": false}))
            .collect();
        if !ext.is_empty() {
            v["schemaExtensions"] = Value::Array(ext);
        }
        v
    }
}

/// Server limits advertised in `ServiceProviderConfig` and enforced.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub max_body_bytes: usize,
    pub max_results: usize,
    pub max_operations: usize,
    pub max_filter_chars: usize,
}

/// The `ServiceProviderConfig` document: what roster really supports.
pub fn service_provider_config(limits: ServerLimits, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/roster/roster#scim-20",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": limits.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": format!(
                "A workspace's SCIM token from `roster scim-token create`, sent as Authorization: Bearer <token>. \
                 Limits: request bodies up to {} bytes, {} PATCH operations, filters up to {} characters, \
                 64 levels of nesting and 1024 terms; count above {} is lowered to it.",
                limits.max_body_bytes, limits.max_operations, limits.max_filter_chars, limits.max_results
            ),
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_is_case_insensitive_and_ids_are_exact() {
        let u = ResourceKind::User;
        assert!(!u.case_exact(None, "userName", None));
        assert!(!u.case_exact(Some(USER_SCHEMA), "USERNAME", None));
        assert!(u.case_exact(None, "id", None));
        assert!(u.case_exact(None, "externalId", None));
        assert!(!u.case_exact(None, "emails", Some("value")));
        assert!(u.case_exact(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")));
        assert!(ResourceKind::Group.case_exact(None, "members", None));
    }

    #[test]
    fn schema_documents_carry_every_characteristic() {
        let doc = USER.to_json("http://h/scim/v2");
        let user_name = doc["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "userName"))
            .expect("userName described");
        for key in [
            "type",
            "multiValued",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        ] {
            assert!(user_name.get(key).is_some(), "{key} missing");
        }
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(
            doc["meta"]["location"],
            format!("http://h/scim/v2/Schemas/{USER_SCHEMA}")
        );
    }
}
