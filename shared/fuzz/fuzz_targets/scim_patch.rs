//! Any JSON as a SCIM PATCH body: parsed or refused, and applied to a User
//! and a Group when parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_shared::scim::patch::{apply, parse_patch};
use roster_shared::scim::schema::ResourceKind;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(ops) = parse_patch(&body, 1000) {
        let mut user = serde_json::json!({
            "userName": "ada@example.com",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "ada@example.com", "type": "work"}],
            "active": true
        });
        let _ = apply(&mut user, &ops, ResourceKind::User);
        let mut group = serde_json::json!({"displayName": "Eng", "members": [{"value": "x"}]});
        let _ = apply(&mut group, &ops, ResourceKind::Group);
    }
});
