//! Property tests: whatever an identity provider sends, the SCIM filter and
//! PATCH parsers answer with a value or a SCIM error, never a panic, and
//! what they accept can be evaluated and applied without one either.

use proptest::prelude::*;
use roster_shared::scim::filter::{FilterLimits, ScimFilter};
use roster_shared::scim::group::ScimGroupInput;
use roster_shared::scim::patch::{apply, parse_patch};
use roster_shared::scim::schema::ResourceKind;
use roster_shared::scim::user::ScimUserInput;
use serde_json::{Value, json};

const LIMITS: FilterLimits = FilterLimits { max_chars: 4096 };

/// Pieces real filters are made of, so that generated text often parses.
fn filter_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails[type eq \"work\"].value".to_string()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName".to_string()),
        Just("members.value".to_string()),
        Just("meta.lastModified".to_string()),
        Just("active".to_string()),
        Just(" eq ".to_string()),
        Just(" ne ".to_string()),
        Just(" co ".to_string()),
        Just(" sw ".to_string()),
        Just(" pr".to_string()),
        Just(" gt ".to_string()),
        Just(" and ".to_string()),
        Just(" or ".to_string()),
        Just("not (".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\"ada@example.com\"".to_string()),
        Just("\"2026-01-01T00:00:00Z\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("42".to_string()),
        "[ -~]{0,6}",
        "\\PC{0,4}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("replace"),
            Just("Add"),
            Just("remove"),
            Just("members[value eq \"x\"]"),
            Just("name.givenName"),
            Just("emails[type eq \"work\"].value"),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("op".to_string()),
                    Just("path".to_string()),
                    Just("value".to_string()),
                    Just("Operations".to_string()),
                    Just("schemas".to_string()),
                    Just("userName".to_string()),
                    Just("name".to_string()),
                    Just("emails".to_string()),
                    Just("active".to_string()),
                    Just("members".to_string()),
                    Just("displayName".to_string()),
                    "[a-zA-Z.:]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn sample_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "0190c6a0-0000-7000-8000-000000000000",
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "active": true,
        "groups": [{"value": "g1", "display": "Eng"}],
        "meta": {"resourceType": "User", "lastModified": "2026-01-01T00:00:00Z"}
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_parses_as_a_filter_or_is_refused(text in "\\PC{0,200}") {
        if let Ok(f) = ScimFilter::parse(&text, LIMITS) {
            let _ = f.matches(&sample_user(), ResourceKind::User);
            let _ = f.lookup(ResourceKind::User);
            let _ = f.mentions("members");
        }
    }

    #[test]
    fn filter_shaped_text_evaluates_without_panicking(pieces in prop::collection::vec(filter_piece(), 1..14)) {
        let text = pieces.concat();
        if let Ok(f) = ScimFilter::parse(&text, LIMITS) {
            let _ = f.matches(&sample_user(), ResourceKind::User);
            let _ = f.matches(&json!({"displayName": "Eng", "members": [{"value": "x"}]}), ResourceKind::Group);
            let _ = f.lookup(ResourceKind::Group);
        }
    }

    #[test]
    fn any_patch_body_is_parsed_and_applied_or_refused(body in json_value()) {
        if let Ok(ops) = parse_patch(&body, 1000) {
            let mut user = sample_user();
            let _ = apply(&mut user, &ops, ResourceKind::User);
            let mut group = json!({"displayName": "Eng", "members": []});
            let _ = apply(&mut group, &ops, ResourceKind::Group);
        }
    }

    #[test]
    fn patch_operations_with_generated_paths_never_panic(
        op in prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("copy")],
        path in prop::collection::vec(filter_piece(), 0..5),
        value in json_value(),
    ) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": path.concat(), "value": value}]
        });
        if let Ok(ops) = parse_patch(&body, 1000) {
            let mut user = sample_user();
            let _ = apply(&mut user, &ops, ResourceKind::User);
        }
    }

    #[test]
    fn any_json_body_reads_as_a_user_or_group_or_is_refused(body in json_value()) {
        let _ = ScimUserInput::from_doc(&body);
        let _ = ScimGroupInput::from_doc(&body);
    }
}
