//! SCIM 2.0 against the real rosterd over TCP: Okta- and Entra-style
//! provisioning cycles and the behaviours real identity providers rely on.

use roster_e2e::{Daemon, DaemonOptions, SmtpServer};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

struct Scim {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Scim {
    fn new(d: &Daemon, name: &str) -> Self {
        Self::for_workspace(d, None, name)
    }

    fn for_workspace(d: &Daemon, workspace: Option<&str>, name: &str) -> Self {
        let mut args = vec!["scim-token", "create", "--name", name];
        if let Some(w) = workspace {
            args.extend(["--workspace", w]);
        }
        let out = d.roster_ok(&args);
        let token = out.lines().last().expect("token line").trim().to_string();
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/scim/v2", d.base_url()),
            token,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        self.call_text(method, path, body.map(|b| b.to_string()))
            .await
    }

    /// [`Scim::call`] with the body as text: for bodies a `Value` cannot
    /// hold, such as an object that names a key twice.
    async fn call_text(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if status != 204 {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/scim+json"),
                "{path}"
            );
        }
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, body, headers)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (s, b, _) = self.call(reqwest::Method::GET, path, None).await;
        (s, b)
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self.call(reqwest::Method::POST, path, Some(body)).await;
        (s, b)
    }
    async fn patch(&self, path: &str, ops: Value) -> (u16, Value) {
        let (s, b, _) = self
            .call(
                reqwest::Method::PATCH,
                path,
                Some(json!({"schemas": [PATCH], "Operations": ops})),
            )
            .await;
        (s, b)
    }
    async fn filter_users(&self, filter: &str) -> Value {
        let (s, b) = self
            .get(&format!("/Users?filter={}", urlencoding::encode(filter)))
            .await;
        assert_eq!(s, 200, "{filter}: {b}");
        b
    }
}

#[tokio::test]
async fn okta_style_provisioning_cycle() {
    let mut smtp = SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });
    let okta = Scim::new(&d, "okta");

    // Okta looks the user up first; a userName filter is case-insensitive and empty is 200.
    let found = okta.filter_users(r#"userName eq "ada@example.com""#).await;
    assert_eq!(found["totalResults"], 0);
    assert_eq!(found["Resources"], json!([]));
    let (s, ada) = okta
        .post(
            "/Users",
            json!({
                "schemas": [USER], "userName": "Ada@Example.com", "externalId": "00u1",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"value": "Ada@Example.com", "type": "work", "primary": true}],
                "active": true, "password": "Sup3rSecret!",
            }),
        )
        .await;
    assert_eq!(s, 201, "{ada}");
    let id = ada["id"].as_str().expect("id").to_string();
    assert!(ada.get("password").is_none(), "password is never returned");
    assert_eq!(ada["name"]["givenName"], "Ada");
    assert!(
        ada.get("displayName").is_none(),
        "what the IdP did not send is not invented"
    );
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["name"],
        "Ada Lovelace"
    );
    // A SCIM-created user gets the invite mail (the workspace default).
    let mails = smtp.wait_for("Ada@Example.com", 1);
    assert!(mails[0].link().is_some());
    assert_eq!(d.status_of("ada@example.com"), "invited");
    let again = okta.filter_users(r#"userName eq "ADA@example.COM""#).await;
    assert_eq!(again["totalResults"], 1);
    assert_eq!(again["Resources"][0]["id"], id.as_str());

    // Group push: create, then add the member.
    let (s, g) = okta
        .post(
            "/Groups",
            json!({"displayName": "Engineering", "members": []}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("group id").to_string();
    let (s, g2) = okta
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": id, "display": "ada"}]}]),
        )
        .await;
    assert_eq!(s, 200, "{g2}");
    assert_eq!(g2["members"][0]["value"], id.as_str());
    let (_, u) = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(u["groups"][0]["display"], "Engineering");

    // Okta deactivates with active:false (never DELETE): readable and filterable after.
    let (s, off) = okta
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(s, 200, "{off}");
    assert_eq!(off["active"], false);
    assert_eq!(d.status_of("ada@example.com"), "archived");
    let inactive = okta.filter_users("active eq false").await;
    assert_eq!(inactive["totalResults"], 1);
    // Reactivation: she never accepted, so she is invited again with a fresh mail.
    let (s, on) = okta
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await;
    assert_eq!(s, 200, "{on}");
    assert_eq!(d.status_of("ada@example.com"), "invited");
    smtp.wait_for("Ada@Example.com", 2);

    // Remove from group, then delete the user: 204, then 404.
    let (s, g3) = okta
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(g3["members"], json!([]));
    let (s, _, _) = okta
        .call(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, gone) = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(gone["status"], "404");

    // Every change is audited with the token's name, source scim.
    let audit = d.roster_json(&["audit", "list", "--member", "ada@example.com"]);
    let items = audit["items"]
        .as_array()
        .or(audit.as_array())
        .expect("audit items")
        .clone();
    assert!(items.len() >= 5, "{audit}");
    for e in &items {
        assert_eq!(e["actor"], "okta", "{e}");
        assert_eq!(e["source"], "scim", "{e}");
    }
    smtp.stop();
}

#[tokio::test]
async fn entra_style_provisioning_cycle() {
    let d = Daemon::start(DaemonOptions::default());
    let entra = Scim::new(&d, "entra");
    let (s, boss) = entra
        .post(
            "/Users",
            json!({"userName": "boss@example.com", "active": true}),
        )
        .await;
    assert_eq!(s, 201, "{boss}");
    let boss_id = boss["id"].as_str().expect("id").to_string();
    let (s, u) = entra
        .post("/Users", json!({
            "schemas": [USER, ENTERPRISE, "urn:example:unknown"],
            "externalId": "e-42", "userName": "grace@example.com", "active": "True",
            "displayName": "Grace Hopper",
            "emails": [{"primary": true, "type": "work", "value": "grace@example.com"}],
            "roles": [{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "builder"}],
            "title": "Computer Scientist", "preferredLanguage": "en-US",
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
            "addresses": [{"type": "work", "locality": "Arlington", "region": "VA", "country": "US"}],
            "meta": {"resourceType": "User"}, "id": "client-chosen",
            "urn:example:unknown": {"x": 1},
        }))
        .await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().expect("id").to_string();
    assert_ne!(id, "client-chosen", "id is read-only");
    assert_eq!(u["roles"][0]["value"], "builder");
    // Entra assigns an app role through the primary role's value.
    let (s, r) = entra
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "end-user"}]),
        )
        .await;
    assert_eq!(
        (s, r["roles"][0]["value"].as_str()),
        (200, Some("end-user")),
        "{r}"
    );
    // What Entra's default mapping sends beyond roster's own fields reads back.
    assert_eq!(u["title"], "Computer Scientist", "{u}");
    assert_eq!(u["preferredLanguage"], "en-US", "{u}");
    assert_eq!(u["addresses"][0]["locality"], "Arlington", "{u}");

    // Entra's PATCH: capitalised ops, string booleans, URN-qualified no-path keys,
    // a manager as a bare id, filtered e-mail paths.
    let (s, p) = entra
        .patch(&format!("/Users/{id}"), json!([
            {"op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"},
            {"op": "Add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Navy",
                                      "name.familyName": "Hopper"}},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": boss_id},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace@example.com"},
            {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "grace@home.example"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:tooljet:User:2.0:role", "value": "Admin"},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0199"},
            {"op": "Replace", "path": "title", "value": "Rear Admiral"},
        ]))
        .await;
    assert_eq!(s, 200, "PATCH answers 200 with the resource: {p}");
    assert_eq!(p["title"], "Rear Admiral", "{p}");
    assert_eq!(
        p["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}, {"type": "work", "value": "+1 555 0199"}]),
        "an add to a filtered path that matches nothing creates the entry: {p}"
    );
    let titled = entra.filter_users(r#"title sw "rear""#).await;
    assert_eq!(titled["totalResults"], 1, "{titled}");
    assert_eq!(p["displayName"], "Rear Admiral Hopper");
    assert_eq!(p[ENTERPRISE]["department"], "Navy");
    assert_eq!(p[ENTERPRISE]["manager"]["value"], boss_id.as_str());
    assert_eq!(p["name"]["familyName"], "Hopper");
    assert_eq!(
        p["roles"][0]["value"], "admin",
        "ToolJet's role attribute is honoured"
    );
    assert_eq!(p["emails"].as_array().map(Vec::len), Some(2));
    // Entra matches by work e-mail with a sub-attribute after a value path:
    // outside RFC 7644's grammar, but what it sends.
    let bywork = entra
        .filter_users(r#"emails[type eq "work"].value eq "GRACE@example.com""#)
        .await;
    assert_eq!(bywork["totalResults"], 1, "{bywork}");
    assert_eq!(bywork["Resources"][0]["id"], id.as_str());
    let byhome = entra
        .filter_users(r#"emails[type eq "work"].value eq "grace@home.example""#)
        .await;
    assert_eq!(
        byhome["totalResults"], 0,
        "a home address is not a work one"
    );
    let shown = d.roster_json(&["users", "show", "grace@example.com"]);
    assert_eq!(shown["name"], "Rear Admiral Hopper");
    assert_eq!(shown["role"], "admin");

    // Groups: created by Entra, member added, removed by a value list, renamed by a
    // replace whose value carries the group's own id.
    let (s, g) = entra
        .post(
            "/Groups",
            json!({"displayName": "Fleet", "externalId": "grp-1"}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("gid").to_string();
    let (s, _) = entra
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
        )
        .await;
    assert_eq!(s, 200);
    let byname = entra
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            urlencoding::encode("displayName eq \"fleet\"")
        ))
        .await;
    assert_eq!(byname.1["totalResults"], 1, "{}", byname.1);
    assert!(byname.1["Resources"][0].get("members").is_none());
    let (s, g2) = entra
        .patch(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "Remove", "path": "members", "value": [{"value": id}]},
                {"op": "Replace", "value": {"id": gid, "displayName": "Fleet Ops"}},
            ]),
        )
        .await;
    assert_eq!(s, 200, "{g2}");
    assert_eq!(g2["displayName"], "Fleet Ops");
    assert_eq!(g2.get("members").cloned().unwrap_or(json!([])), json!([]));

    // Deactivate by the string "False", reactivate, then delete.
    let (s, off) = entra
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(off["active"], false);
    let (s, _) = entra
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(s, 200);
    // A random GUID filter is an empty 200, not an error.
    let none = entra
        .filter_users(r#"externalId eq "1f1e1b0e-2d1e-4cc4-9e0a-6f2d9a0e7b11""#)
        .await;
    assert_eq!(none["totalResults"], 0);
    let byext = entra.filter_users(r#"externalId eq "e-42""#).await;
    assert_eq!(byext["Resources"][0]["id"], id.as_str());
    let (s, _, _) = entra
        .call(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn entra_finds_users_by_a_work_email_other_than_their_user_name() {
    let d = Daemon::start(DaemonOptions::default());
    let entra = Scim::new(&d, "entra");
    let (s, ada) = entra
        .post(
            "/Users",
            json!({
                "userName": "ada@contoso.onmicrosoft.com", "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Ada@Contoso.com"}],
            }),
        )
        .await;
    assert_eq!(s, 201, "{ada}");
    let id = ada["id"].as_str().expect("id").to_string();
    d.invite("Bob Byte", "bob@example.com", "builder");
    let work = |address: &str| format!(r#"emails[type eq "work"].value eq "{address}""#);
    let found = entra.filter_users(&work("ADA@contoso.com")).await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let bob = entra.filter_users(&work("bob@example.com")).await;
    assert_eq!(
        bob["totalResults"], 1,
        "an invited member's address is its work e-mail: {bob}"
    );
    assert_eq!(bob["Resources"][0]["userName"], "bob@example.com");
    let upn = entra
        .filter_users(r#"emails.value eq "ada@contoso.onmicrosoft.com""#)
        .await;
    assert_eq!(
        upn["totalResults"], 0,
        "the userName is not among Ada's emails: {upn}"
    );

    // The work address changes: the old one finds nobody, the new one Ada.
    let (s, _) = entra
        .patch(&format!("/Users/{id}"), json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@fabrikam.com"},
        ]))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        entra.filter_users(&work("ada@contoso.com")).await["totalResults"],
        0
    );
    let moved = entra.filter_users(&work("ada@fabrikam.com")).await;
    assert_eq!(moved["Resources"][0]["id"], id.as_str(), "{moved}");

    let (s, _, _) = entra
        .call(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        entra.filter_users(&work("ada@fabrikam.com")).await["totalResults"],
        0
    );
}

/// The ids of a page of the unfiltered Users list.
async fn page_ids(scim: &Scim, start: usize, count: usize) -> Vec<String> {
    let (s, b) = scim
        .get(&format!(
            "/Users?startIndex={start}&count={count}&attributes=userName"
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    b["Resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["id"].as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn okta_import_pages_follow_each_other_through_removals_and_additions() {
    let d = Daemon::start(DaemonOptions::default());
    d.make_sso_managed("default");
    let okta = Scim::new(&d, "okta");
    let create = |i: usize| {
        let okta = &okta;
        async move {
            let (s, b) = okta
                .post("/Users", json!({"userName": format!("p{i}@example.com")}))
                .await;
            assert_eq!(s, 201, "{b}");
        }
    };
    for i in 0..250 {
        create(i).await;
    }
    let whole = page_ids(&okta, 1, 1000).await;
    assert_eq!(whole.len(), 250);
    let mut walked = Vec::new();
    for start in [1, 101, 201] {
        walked.extend(page_ids(&okta, start, 100).await);
    }
    assert_eq!(
        walked, whole,
        "pages of 100 are the list in order, each user once"
    );

    // New users go last: the page after 200 now holds them too.
    for i in 250..255 {
        create(i).await;
    }
    let whole = page_ids(&okta, 1, 1000).await;
    assert_eq!(page_ids(&okta, 201, 100).await, whole[200..].to_vec());

    // A removal on the first page moves everyone after it up one place.
    let gone = whole[10].clone();
    let (s, _, _) = okta
        .call(reqwest::Method::DELETE, &format!("/Users/{gone}"), None)
        .await;
    assert_eq!(s, 204);
    let whole = page_ids(&okta, 1, 1000).await;
    assert_eq!(whole.len(), 254);
    assert_eq!(page_ids(&okta, 101, 100).await, whole[100..200].to_vec());
    assert_eq!(page_ids(&okta, 201, 100).await, whole[200..].to_vec());
}

#[tokio::test]
async fn refusals_are_scim_errors_and_change_nothing() {
    let d = Daemon::start(DaemonOptions::default());
    let idp = Scim::new(&d, "idp");
    let (_, u) = idp
        .post(
            "/Users",
            json!({"userName": "kay@example.com", "displayName": "Alan Kay"}),
        )
        .await;
    let id = u["id"].as_str().expect("id").to_string();

    // Wrong token → 401 SCIM error.
    let resp = reqwest::Client::new()
        .get(format!("{}/Users", idp.base))
        .bearer_auth("roster_scim_wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    let (s, dup) = idp
        .post("/Users", json!({"userName": "KAY@example.com"}))
        .await;
    assert_eq!(
        (s, dup["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{dup}"
    );
    let (s, bad) = idp.get("/Users?filter=userName%20eq").await;
    assert_eq!(
        (s, bad["scimType"].as_str()),
        (400, Some("invalidFilter")),
        "{bad}"
    );
    // One sentence that says where and what, not the parser's states.
    assert_eq!(
        bad["detail"],
        "the filter \"userName eq\" is not valid SCIM filter syntax: the comparison ends at `eq` (character 10): a value is missing",
        "{bad}"
    );
    // A comparison the attribute's type forbids is refused, not answered
    // with an empty list (RFC 7644 §3.4.2.2), for GET and POST /.search.
    let (s, bad) = idp.get("/Users?filter=active%20gt%20true").await;
    assert_eq!(
        (s, bad["scimType"].as_str()),
        (400, Some("invalidFilter")),
        "{bad}"
    );
    let (s, bad) = idp
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "meta.created gt \"2026-11-29\""}),
        )
        .await;
    assert_eq!(
        (s, bad["detail"].as_str()),
        (
            400,
            Some(
                "the filter compares meta.created with \"2026-11-29\", which is not a date and time such as \"2026-11-29T12:00:00Z\""
            )
        ),
        "{bad}"
    );
    // So is a term on an attribute roster does not have: an empty list
    // would read as "no such user", and the create that follows would fail.
    let (s, bad) = idp
        .get("/Users?filter=mail%20eq%20%22kay%40example.com%22")
        .await;
    assert_eq!(
        (s, bad["scimType"].as_str(), bad["detail"].as_str()),
        (
            400,
            Some("invalidFilter"),
            Some(
                "the filter names mail, which is not an attribute of a User in roster (GET /Schemas lists them)"
            )
        ),
        "{bad}"
    );
    // Dates compare in time: an hour ahead of UTC, "created after an hour
    // ago" (written at +01:00) finds the user created just now.
    let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let at_plus_one = hour_ago
        .to_offset(time::UtcOffset::from_hms(1, 0, 0).expect("offset"))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (s, found) = idp
        .get(&format!(
            "/Users?filter=meta.created%20gt%20%22{}%22",
            at_plus_one.replace('+', "%2B")
        ))
        .await;
    assert_eq!(
        (s, found["totalResults"].as_u64()),
        (200, Some(1)),
        "{found}"
    );
    let (s, bad) = idp
        .post("/Users", json!({"userName": "not-an-email"}))
        .await;
    assert_eq!((s, bad["scimType"].as_str()), (400, Some("invalidValue")));
    assert!(
        bad["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("e-mail"),
        "{bad}"
    );

    // An atomic PATCH: the second operation is invalid, so the first does not apply.
    let (s, e) = idp
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "roles", "value": [{"value": "emperor"}]},
            ]),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let (_, now) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(now["displayName"], "Alan Kay");
    // A work address that is not one (an attribute mapped wrongly in the
    // identity provider) is refused by name and not stored.
    let (s, e) = idp
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "Kay, Alan"}]),
        )
        .await;
    assert_eq!(
        (s, e["detail"].as_str()),
        (
            400,
            Some("emails value \"Kay, Alan\" is not an e-mail address")
        ),
        "{e}"
    );
    let (_, after) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(after["emails"], now["emails"], "{after}");

    // If-Match with a stale version → 412, with the current one → 200.
    let version = now["meta"]["version"]
        .as_str()
        .expect("version")
        .to_string();
    let (_, _, h) = idp
        .call(reqwest::Method::GET, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(
        h.get("etag").and_then(|v| v.to_str().ok()),
        Some(version.as_str())
    );
    let stale = idp
        .http
        .put(format!("{}/Users/{id}", idp.base))
        .bearer_auth(&idp.token)
        .header("if-match", "W/\"0000\"")
        .header("content-type", "application/json")
        .body(json!({"userName": "kay@example.com", "displayName": "X"}).to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(stale.status(), 412);
    let fresh = idp
        .http
        .put(format!("{}/Users/{id}", idp.base))
        .bearer_auth(&idp.token)
        .header("if-match", &version)
        .header("content-type", "application/json")
        .body(json!({"userName": "kay@example.com", "displayName": "Alan C. Kay"}).to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(fresh.status(), 200);

    // Discovery: other methods → 405; the limits are documented.
    let (s, _, _) = idp.call(reqwest::Method::DELETE, "/Schemas", None).await;
    assert_eq!(s, 405);
    let (_, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    let (_, schemas) = idp.get("/Schemas").await;
    assert!(
        schemas["Resources"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["id"] == ROSTER))
    );

    // Paging: integers, count=0, stable order.
    for i in 0..5 {
        idp.post("/Users", json!({"userName": format!("p{i}@example.com")}))
            .await;
    }
    let (_, zero) = idp.get("/Users?count=0").await;
    assert_eq!(zero["totalResults"], 6);
    assert_eq!(zero["Resources"], json!([]));
    let (_, p2) = idp.get("/Users?startIndex=3&count=2&sortBy=userName").await;
    assert_eq!(p2["startIndex"], 3);
    assert_eq!(p2["itemsPerPage"], 2);
    assert_eq!(p2["Resources"][0]["userName"], "p1@example.com");
}

#[tokio::test]
async fn a_workspace_can_have_scim_users_active_at_once() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["workspaces", "create", "nexus"]);
    let set = d.roster_json(&[
        "workspaces",
        "set",
        "nexus",
        "--scim-creates-active",
        "true",
    ]);
    assert_eq!(set["scim_creates_active"], true);
    let err = d.roster_err(&[
        "workspaces",
        "set",
        "ghost",
        "--scim-creates-active",
        "true",
    ]);
    assert!(err.contains("does not exist"), "{err}");
    let idp = Scim::for_workspace(&d, Some("nexus"), "entra");
    let (s, u) = idp
        .post(
            "/Users",
            json!({"userName": "sso@example.com", "displayName": "Sso User"}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().expect("id").to_string();
    let shown = d.roster_json(&["users", "show", "sso@example.com", "--workspace", "nexus"]);
    assert_eq!(shown["status"], "active", "{shown}");
    // The token selects its workspace: the default one has no such member.
    let err = d.roster_err(&["users", "show", "sso@example.com"]);
    assert!(err.contains("not a member"), "{err}");
    // No invite mail is queued for an SSO-managed member.
    let mail = d.roster_json(&["mail", "list", "--workspace", "nexus"]);
    assert_eq!(
        mail["items"].as_array().or(mail.as_array()).map(Vec::len),
        Some(0),
        "{mail}"
    );
    // Deactivated and reactivated, the member is active again at once.
    let (s, _) = idp
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(s, 200);
    let (s, back) = idp
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(back[ROSTER]["status"], "active");
    let audit = d.roster_json(&[
        "audit",
        "list",
        "--workspace",
        "nexus",
        "--action",
        "workspace.updated",
    ]);
    let items = audit["items"]
        .as_array()
        .or(audit.as_array())
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{audit}");
}

#[tokio::test]
async fn a_corrected_address_gets_a_fresh_invite_and_the_old_link_dies() {
    let smtp = SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });
    let okta = Scim::new(&d, "okta");
    let (s, user) = okta
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "grace@exmaple.com",
                   "name": {"givenName": "Grace", "familyName": "Hopper"}}),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    let id = user["id"].as_str().expect("id").to_string();
    let typo_link = smtp.wait_for("grace@exmaple.com", 1)[0]
        .link()
        .expect("link");

    // The IdP corrects the address before Grace accepted.
    let (s, fixed) = okta
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "userName", "value": "grace@example.com"}]),
        )
        .await;
    assert_eq!(s, 200, "{fixed}");
    let fresh = smtp.wait_for("grace@example.com", 1)[0]
        .link()
        .expect("the corrected address gets an invite");
    assert_ne!(fresh, typo_link);
    let status = |link: String| async move { reqwest::get(link).await.expect("GET").status() };
    assert_eq!(
        status(typo_link).await,
        404,
        "the link mailed to the mistyped address no longer works"
    );
    assert_eq!(status(fresh.clone()).await, 200);
    assert_eq!(d.status_of("grace@example.com"), "invited");

    // A change that keeps the address (another name) sends nothing more.
    let (s, _) = okta
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "name.givenName", "value": "Grace B."}]),
        )
        .await;
    assert_eq!(s, 200);
    d.roster_ok(&["resend", "grace@example.com"]);
    let mails = smtp.wait_for("grace@example.com", 2);
    let queued = d.roster_json(&["mail", "list"]);
    let to_grace = queued.as_array().map_or(0, |all| {
        all.iter()
            .filter(|m| m["to"] == "grace@example.com")
            .count()
    });
    assert_eq!(
        to_grace, 2,
        "only the admin's resend was mailed again: {queued}"
    );
    assert!(
        mails
            .iter()
            .all(|m| m.link().as_deref() == Some(fresh.as_str())),
        "the resend carries the same fresh link"
    );
}

#[tokio::test]
async fn a_revoked_scim_token_stops_working_at_once() {
    let d = Daemon::start(DaemonOptions::default());
    let idp = Scim::new(&d, "okta");
    for _ in 0..3 {
        assert_eq!(
            idp.get("/Users").await.0,
            200,
            "a valid token is accepted every time"
        );
    }
    d.roster_ok(&["scim-token", "revoke", "okta"]);
    let (s, body) = idp.get("/Users").await;
    assert_eq!(s, 401, "{body}");
}

#[tokio::test]
async fn a_body_that_names_an_attribute_twice_is_refused_and_changes_nothing() {
    let d = Daemon::start(DaemonOptions::default());
    let idp = Scim::new(&d, "idp");
    let (_, u) = idp
        .post(
            "/Users",
            json!({"userName": "kay@example.com", "name": {"givenName": "Alan", "familyName": "Kay"}}),
        )
        .await;
    let id = u["id"].as_str().expect("id").to_string();
    // serde_json alone would keep the second value of each pair.
    let cases = [
        (
            reqwest::Method::POST,
            "/Users".to_string(),
            r#"{"userName":"one@example.com","USERNAME":"two@example.com"}"#,
            "USERNAME",
        ),
        (
            reqwest::Method::PUT,
            format!("/Users/{id}"),
            r#"{"userName":"kay@example.com","name":{"givenName":"Alan","givenName":"Bob"}}"#,
            "givenName",
        ),
        (
            reqwest::Method::PATCH,
            format!("/Users/{id}"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false,"value":true}]}"#,
            "value",
        ),
    ];
    for (method, path, body, key) in cases {
        let (status, err, _) = idp
            .call_text(method.clone(), &path, Some(body.to_string()))
            .await;
        assert_eq!(
            (status, err["scimType"].as_str()),
            (400, Some("invalidSyntax")),
            "{method} {path}: {err}"
        );
        let detail = err["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(&format!(
                "the request body names \"{key}\" twice in one object"
            )) && detail.contains("line 1 column"),
            "{detail}"
        );
    }
    for address in ["one@example.com", "two@example.com"] {
        let found = idp
            .filter_users(&format!("userName eq \"{address}\""))
            .await;
        assert_eq!(found["totalResults"], 0, "{address} was created: {found}");
    }
    let (_, after) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(after["name"]["givenName"], "Alan");
    assert_eq!(after["active"], true);
    assert_eq!(after["meta"]["version"], u["meta"]["version"], "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_scim_errors_with_a_clear_detail() {
    let d = Daemon::start(DaemonOptions {
        env: vec![
            ("ROSTER_SCIM_MAX_OPERATIONS".into(), "2".into()),
            ("ROSTER_SCIM_MAX_FILTER_CHARS".into(), "40".into()),
            ("ROSTER_SCIM_MAX_RESULTS".into(), "2".into()),
            ("ROSTER_SCIM_MAX_IN_FLIGHT".into(), "1".into()),
            ("ROSTER_HTTP_MAX_BODY_BYTES".into(), "4096".into()),
        ],
        ..Default::default()
    });
    let scim = Scim::new(&d, "limits");
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, b) = scim
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": format!("u{i}@example.com"),
                       "name": {"givenName": "U", "familyName": format!("{i}")}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        ids.push(b["id"].as_str().expect("id").to_string());
    }
    let config = scim.get("/ServiceProviderConfig").await.1;
    assert_eq!(config["filter"]["maxResults"], 2, "{config}");

    // A larger count is lowered to maxResults.
    let (s, page) = scim.get("/Users?count=50").await;
    assert_eq!(s, 200);
    assert_eq!(page["totalResults"], 3, "{page}");
    assert_eq!(page["itemsPerPage"], 2, "{page}");

    // A filter over the length limit.
    let long = format!("userName eq \"{}@example.com\"", "x".repeat(40));
    let (s, b, _) = scim
        .call(
            reqwest::Method::GET,
            &format!("/Users?filter={}", urlencoding::encode(&long)),
            None,
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["scimType"], "invalidFilter", "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("the limit is 40"),
        "{b}"
    );

    // Too many PATCH operations: 413 tooMany, nothing applied.
    let ops = json!([
        {"op": "replace", "path": "name.givenName", "value": "A"},
        {"op": "replace", "path": "name.givenName", "value": "B"},
        {"op": "replace", "path": "name.givenName", "value": "C"}
    ]);
    let (s, b) = scim.patch(&format!("/Users/{}", ids[0]), ops).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["scimType"], "tooMany", "{b}");
    assert_eq!(
        scim.get(&format!("/Users/{}", ids[0])).await.1["name"]["givenName"],
        "U"
    );

    // A body over http.max_body_bytes: 413 as a SCIM error.
    let (s, b, _) = scim
        .call(
            reqwest::Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "big@example.com",
                        "displayName": "x".repeat(8000)})),
        )
        .await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(
        b["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{b}"
    );
    assert!(
        b["detail"].as_str().unwrap_or_default().contains("limit"),
        "{b}"
    );
    assert_eq!(
        scim.filter_users("userName eq \"big@example.com\"").await["totalResults"],
        0
    );

    // More requests at once than scim.max_in_flight: some are 429 with Retry-After.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (http, base, token) = (scim.http.clone(), scim.base.clone(), scim.token.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .get(format!("{base}/Users?count=2"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body: Value = resp.json().await.expect("json");
            (status, retry, body)
        }));
    }
    let mut refused = 0;
    for t in tasks {
        let (status, retry, body) = t.await.expect("task");
        match status {
            200 => {}
            429 => {
                refused += 1;
                assert_eq!(retry.as_deref(), Some("1"), "{body}");
                assert_eq!(body["status"], "429", "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused > 0, "64 requests at once against a budget of 1");
}

/// Okta pushes a group's members a PATCH at a time: answering each with
/// every member would send the whole list again and again. A PATCH of a
/// group larger than `scim.large_group_members` answers `204 No Content`
/// with the new `ETag` (RFC 7644 §3.5.2 allows it); a request that names
/// attributes still gets them, and smaller groups still get the group.
#[tokio::test]
async fn a_patch_of_a_large_group_answers_204_with_its_etag() {
    let d = Daemon::start(DaemonOptions {
        env: vec![("ROSTER_SCIM_LARGE_GROUP_MEMBERS".into(), "3".into())],
        ..DaemonOptions::default()
    });
    let scim = Scim::new(&d, "okta");
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, u) = scim
            .post("/Users", json!({"userName": format!("big{i}@example.com")}))
            .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().expect("id").to_string());
    }
    let (s, g) = scim.post("/Groups", json!({"displayName": "Big"})).await;
    assert_eq!(s, 201, "{g}");
    let group = format!("/Groups/{}", g["id"].as_str().expect("id"));
    let add = |i: usize| json!([{"op": "add", "path": "members", "value": [{"value": ids[i]}]}]);

    // Up to three members: 200 with the group and its members.
    for i in 0..3 {
        let (s, g) = scim.patch(&group, add(i)).await;
        assert_eq!(
            (s, g["members"].as_array().map(Vec::len)),
            (200, Some(i + 1)),
            "{g}"
        );
    }
    // The fourth makes it large: 204, no body, the version as ETag.
    let (s, body, headers) = scim
        .call(
            reqwest::Method::PATCH,
            &group,
            Some(json!({"schemas": [PATCH], "Operations": add(3)})),
        )
        .await;
    assert_eq!((s, &body), (204, &Value::Null));
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_string();
    let (s, now) = scim.get(&group).await;
    assert_eq!(s, 200);
    assert_eq!(
        now["meta"]["version"],
        etag.as_str(),
        "the ETag is the group's version"
    );
    assert_eq!(
        now["members"].as_array().map(Vec::len),
        Some(4),
        "GET lists every member"
    );
    // Named attributes are answered 200 with them (RFC 7644 §3.5.2).
    let (s, g) = scim
        .patch(&format!("{group}?attributes=members"), add(4))
        .await;
    assert_eq!(
        (s, g["members"].as_array().map(Vec::len)),
        (200, Some(5)),
        "{g}"
    );
    let (s, g) = scim
        .patch(
            &format!("{group}?excludedAttributes=members"),
            json!([{"op": "replace", "path": "displayName", "value": "Bigger"}]),
        )
        .await;
    assert_eq!(
        (s, g["displayName"].as_str(), g.get("members")),
        (200, Some("Bigger"), None)
    );

    // A list leaves a large group's members out unless it names attributes;
    // a small group's are listed.
    let (s, small) = scim
        .post(
            "/Groups",
            json!({"displayName": "Small", "members": [{"value": ids[0]}]}),
        )
        .await;
    assert_eq!(s, 201, "{small}");
    let members_by_name = |list: &Value| -> Vec<(String, Option<usize>)> {
        let mut out: Vec<_> = list["Resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|g| {
                let name = g["displayName"].as_str().unwrap_or_default().to_string();
                (
                    name,
                    g.get("members").and_then(Value::as_array).map(Vec::len),
                )
            })
            .collect();
        out.sort();
        out
    };
    let (_, listed) = scim.get("/Groups").await;
    assert_eq!(
        members_by_name(&listed),
        [("Bigger".to_string(), None), ("Small".to_string(), Some(1))],
        "{listed}"
    );
    let (_, asked) = scim.get("/Groups?attributes=displayName,members").await;
    assert_eq!(
        members_by_name(&asked),
        [
            ("Bigger".to_string(), Some(5)),
            ("Small".to_string(), Some(1))
        ],
        "{asked}"
    );
    let member_filter = format!(
        "/Groups?filter={}",
        urlencoding::encode(&format!("members[value eq \"{}\"]", ids[4]))
    );
    let (_, found) = scim.get(&member_filter).await;
    assert_eq!(
        members_by_name(&found),
        [("Bigger".to_string(), None)],
        "a filter on members still sees them all: {found}"
    );
}

/// Ada Lovelace, Alan Turing and Grace Hopper as SCIM Users
/// (`ada@example.com`, …); their ids in that order.
async fn three_pioneers(scim: &Scim) -> Vec<String> {
    let mut ids = Vec::new();
    for (user, name) in [
        ("ada", "Ada Lovelace"),
        ("alan", "Alan Turing"),
        ("grace", "Grace Hopper"),
    ] {
        let (s, u) = scim
            .post(
                "/Users",
                json!({"userName": format!("{user}@example.com"), "displayName": name}),
            )
            .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().expect("id").to_string());
    }
    ids
}

/// A group's version changes whenever its members do, whoever changes
/// them (SCIM or an admin), stays the same across a restart, and is the
/// same with or without the member list in the answer: identity providers
/// send it back in `If-Match`.
#[tokio::test]
async fn a_group_s_version_follows_its_members_whoever_changes_them() {
    let mut d = Daemon::start(DaemonOptions::default());
    let scim = Scim::new(&d, "okta");
    let ids = three_pioneers(&scim).await;
    let (s, g) = scim
        .post(
            "/Groups",
            json!({"displayName": "Pioneers", "members": [{"value": ids[0]}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let group = format!("/Groups/{}", g["id"].as_str().expect("id"));
    let version = |doc: &Value| {
        doc["meta"]["version"]
            .as_str()
            .expect("version")
            .to_string()
    };
    let created = version(&g);
    let (_, without) = scim
        .get(&format!("{group}?excludedAttributes=members"))
        .await;
    assert_eq!(version(&without), created, "the same without the members");

    // An admin adds Alan: the version moves, and the old one is stale.
    d.roster_ok(&["groups", "add", "Pioneers", "alan@example.com"]);
    let (_, now) = scim.get(&group).await;
    let after_admin = version(&now);
    assert_ne!(after_admin, created);
    assert_eq!(now["members"].as_array().map(Vec::len), Some(2), "{now}");
    let remove_alan =
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]);
    let patch_if = |v: String, ops: Value| {
        scim.http
            .patch(format!("{}{group}", scim.base))
            .bearer_auth(&scim.token)
            .header("if-match", v)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [PATCH], "Operations": ops}).to_string())
            .send()
    };
    let stale = patch_if(created.clone(), remove_alan.clone())
        .await
        .expect("patch");
    assert_eq!(stale.status(), 412);
    let (_, unchanged) = scim.get(&group).await;
    assert_eq!(
        version(&unchanged),
        after_admin,
        "a refused PATCH changes nothing"
    );

    // With the current version the PATCH applies, and its answer's
    // version is the one GET gives from then on, also after a restart.
    let fresh = patch_if(after_admin.clone(), remove_alan)
        .await
        .expect("patch");
    assert_eq!(fresh.status(), 200);
    let answered: Value = fresh.json().await.expect("group");
    assert_ne!(version(&answered), after_admin);
    assert_eq!(answered["members"].as_array().map(Vec::len), Some(1));
    d.restart();
    // A new connection: the old daemon's are gone.
    let scim = Scim {
        http: reqwest::Client::new(),
        base: scim.base.clone(),
        token: scim.token.clone(),
    };
    let (_, again) = scim.get(&group).await;
    assert_eq!(version(&again), version(&answered));
    let count_in_groups_list = || {
        let listed = d.roster_ok(&["groups", "list"]);
        let line = listed
            .lines()
            .find(|l| l.starts_with("Pioneers"))
            .map(str::to_string)
            .unwrap_or_default();
        line.split_whitespace().nth(1).map(str::to_string)
    };
    assert_eq!(count_in_groups_list().as_deref(), Some("1"));

    // A whole new list (PUT): Ada stays, Grace joins.
    let (_, _, h) = scim
        .call(
            reqwest::Method::PUT,
            &group,
            Some(json!({"displayName": "Pioneers", "members": [{"value": ids[2]}, {"value": ids[0]}]})),
        )
        .await;
    let (_, replaced) = scim.get(&group).await;
    let mut members: Vec<&str> = replaced["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    members.sort_unstable();
    let mut expected = vec![ids[0].as_str(), ids[2].as_str()];
    expected.sort_unstable();
    assert_eq!(members, expected);
    assert_eq!(
        h.get("etag").and_then(|v| v.to_str().ok()),
        Some(version(&replaced).as_str())
    );
    assert_ne!(version(&replaced), version(&again));
    assert_eq!(count_in_groups_list().as_deref(), Some("2"));
}

/// Microsoft Entra ID asks whether a user is in a group with a filter on
/// the group's members, without the member list in the answer; the answer
/// is right whichever form the filter takes.
#[tokio::test]
async fn entra_s_membership_check_answers_by_the_named_members() {
    let d = Daemon::start(DaemonOptions::default());
    let scim = Scim::new(&d, "entra");
    let ids = three_pioneers(&scim).await;
    let (s, g) = scim
        .post(
            "/Groups",
            json!({"displayName": "Pioneers", "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_string();
    let found = |filter: String, extra: &'static str| {
        let scim = &scim;
        async move {
            let query = format!("/Groups?filter={}{extra}", urlencoding::encode(&filter));
            let (s, list) = scim.get(&query).await;
            assert_eq!(s, 200, "{filter}: {list}");
            list
        }
    };
    let excluded = "&excludedAttributes=members";
    for (filter, expected) in [
        (
            format!("id eq \"{gid}\" and members[value eq \"{}\"]", ids[0]),
            1,
        ),
        (
            format!("id eq \"{gid}\" and members[value eq \"{}\"]", ids[2]),
            0,
        ),
        (format!("members eq \"{}\"", ids[1]), 1),
        (format!("members.value eq \"{}\"", ids[1]), 1),
        // Member values are case-exact ids.
        (format!("members.value eq \"{}\"", ids[1].to_uppercase()), 0),
        (format!("not (members[value eq \"{}\"])", ids[2]), 1),
        ("members[value eq \"not-a-user\"]".to_string(), 0),
        ("members[display sw \"Ada\"]".to_string(), 1),
        ("members[display sw \"Grace\"]".to_string(), 0),
    ] {
        let list = found(filter.clone(), excluded).await;
        assert_eq!(list["totalResults"], expected, "{filter}: {list}");
        if expected == 1 {
            assert_eq!(list["Resources"][0]["id"], gid.as_str(), "{filter}");
            assert!(list["Resources"][0].get("members").is_none(), "{list}");
        }
    }
    // Asked for, the members are all there.
    let list = found(format!("members[value eq \"{}\"]", ids[0]), "").await;
    assert_eq!(
        list["Resources"][0]["members"].as_array().map(Vec::len),
        Some(2),
        "{list}"
    );
}

/// A query that names a parameter twice with different values is refused
/// with a SCIM error that names both, rather than one of them being
/// silently chosen; the same value twice is harmless.
#[tokio::test]
async fn a_query_parameter_given_twice_with_different_values_is_refused() {
    let d = Daemon::start(DaemonOptions::default());
    let scim = Scim::new(&d, "okta");
    let (s, _) = scim
        .post("/Users", json!({"userName": "ada@example.com"}))
        .await;
    assert_eq!(s, 201);
    let (s, e) = scim
        .get("/Users?filter=userName%20eq%20%22ada%40example.com%22&Filter=userName%20pr")
        .await;
    assert_eq!(
        (s, e["scimType"].as_str(), e["detail"].as_str()),
        (
            400,
            Some("invalidValue"),
            Some(
                r#"the query gives filter twice, as "userName eq \"ada@example.com\"" and as "userName pr": give it once"#
            )
        ),
        "{e}"
    );
    let (s, list) = scim.get("/Users?count=1&count=1").await;
    assert_eq!((s, list["itemsPerPage"].as_u64()), (200, Some(1)), "{list}");
}

/// A group with more members than leave it in one write is emptied over
/// several writes (other requests are served between them) and deleted
/// whole, by SCIM and by an admin alike: every member leaves it, the group
/// is gone, and its deletion is one audit event.
#[tokio::test]
async fn a_group_larger_than_one_write_is_deleted_whole() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["groups", "create", "Big"]);
    d.roster_ok(&["groups", "create", "Huge"]);
    let people = 2_100; // more than one write's 2,000
    let mut csv = String::from("name,email,role,groups\n");
    for i in 0..people {
        csv.push_str(&format!("Person {i},p{i}@example.com,end-user,Big|Huge\n"));
    }
    let file = d.data_dir().join("big.csv");
    std::fs::write(&file, csv).expect("write the CSV");
    d.roster_ok(&["import", file.to_str().expect("path")]);
    let scim = Scim::new(&d, "okta");
    let (_, found) = scim
        .get("/Groups?filter=displayName%20eq%20%22Big%22&excludedAttributes=members")
        .await;
    let big = format!(
        "/Groups/{}",
        found["Resources"][0]["id"].as_str().expect("id")
    );

    let (s, body, _) = scim.call(reqwest::Method::DELETE, &big, None).await;
    assert_eq!((s, &body), (204, &Value::Null));
    let (s, _) = scim.get(&big).await;
    assert_eq!(s, 404);
    d.roster_ok(&["groups", "delete", "Huge"]);
    let listed = d.roster_ok(&["groups", "list"]);
    assert!(
        !listed.contains("Big") && !listed.contains("Huge"),
        "{listed}"
    );

    for who in ["p0@example.com", "p2099@example.com"] {
        let member = d.roster_json(&["users", "show", who]);
        assert_eq!(member["groups"], json!([]), "{who}: {member}");
    }
    let deletions = d.roster_json(&["audit", "list", "--action", "group.deleted"]);
    let targets: Vec<&str> = deletions
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(targets.len(), 2, "{deletions}");
    assert!(
        targets.contains(&"Big") && targets.contains(&"Huge"),
        "{deletions}"
    );
}

/// Creates acknowledged before a kill -9 are there after the restart, each
/// exactly as its `201` answer showed it (the answer is rendered after the
/// commit, outside the write: its version must still be the stored one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_created_before_kill_9_come_back_as_their_answers_showed_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut d = Daemon::start(DaemonOptions::default());
    d.make_sso_managed("default");
    let idp = Arc::new(Scim::new(&d, "okta"));
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (idp, acknowledged, stop) = (idp.clone(), acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({
                        "schemas": [USER],
                        "userName": format!("crash{c}-{n}@example.com"),
                        "externalId": format!("crash-{c}-{n}"),
                        "name": {"givenName": "Crash", "familyName": format!("Test{c}x{n}")},
                    });
                    let sent = idp
                        .http
                        .post(format!("{}/Users", idp.base))
                        .bearer_auth(&idp.token)
                        .header("content-type", "application/scim+json")
                        .body(body.to_string())
                        .send()
                        .await;
                    let Ok(resp) = sent else { break };
                    if resp.status().as_u16() != 201 {
                        continue;
                    }
                    if let Ok(doc) = resp.json::<Value>().await {
                        acknowledged.lock().expect("lock").push(doc);
                    }
                }
            })
        })
        .collect();
    roster_e2e::poll(
        "300 acknowledged creates",
        std::time::Duration::from_secs(60),
        || (acknowledged.lock().expect("lock").len() >= 300).then_some(()),
    );
    // Mid-burst: clients are still creating.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(d.pid().expect("running")).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    d.restart();
    let answers = acknowledged.lock().expect("lock").clone();
    for answer in &answers {
        let id = answer["id"].as_str().expect("id in the 201 answer");
        let (s, stored) = idp.get(&format!("/Users/{id}")).await;
        assert_eq!(s, 200, "acknowledged but gone after kill -9: {answer}");
        assert_eq!(stored["userName"], answer["userName"], "{stored}");
        assert_eq!(
            stored["meta"]["version"], answer["meta"]["version"],
            "the 201 answer showed another version than the stored User: {answer} vs {stored}"
        );
    }
}
