//! Any text as a SCIM filter: parsed or refused, and evaluated when parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_shared::scim::filter::{FilterLimits, ScimFilter};
use roster_shared::scim::schema::ResourceKind;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = ScimFilter::parse(text, FilterLimits { max_chars: 4096 }) {
        let user = serde_json::json!({
            "userName": "ada@example.com",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "ada@example.com", "type": "work"}],
            "active": true,
            "meta": {"lastModified": "2026-01-01T00:00:00Z"}
        });
        let _ = filter.matches(&user, ResourceKind::User);
        let _ = filter.lookup(ResourceKind::User);
        let _ = filter.mentions("members");
    }
});
