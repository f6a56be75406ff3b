//! The routers exercised in-process with `oneshot`, over a real temp store.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{AppState, socket_router, tcp_router};
use crate::links::LinkSigner;
use crate::service::{Services, Settings};
use crate::store::Store;

async fn state(model: roster_shared::StatusModel) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), 8 << 20).expect("store");
    let settings = Settings {
        public_url: "http://roster.test".into(),
        status_model: model,
        invite_expiry_ms: 3_600_000,
        default_workspace: "default".into(),
    };
    let services = Services::new(store, LinkSigner::from_key([1; 32]), settings);
    services
        .ensure_default_workspace("Test")
        .await
        .expect("default workspace");
    let (_, shutdown) = tokio::sync::watch::channel(false);
    (
        AppState::new(
            services,
            None,
            1000,
            2048,
            shutdown,
            crate::config::ScimConfig::default(),
            None,
        ),
        dir,
    )
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .expect("request");
    send(app, req).await
}

/// Sends a request through the router; the status and the body as text.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Follows a member's invite link in the default workspace.
async fn accept_in_default_workspace(s: &AppState, email: &str) {
    let link = s.services.link(None, email).await.expect("link");
    let token = link.url.rsplit('/').next().expect("token").to_string();
    s.services
        .accept_invite(&token)
        .await
        .expect("store")
        .expect("accepted");
}

const ADA: &str = r#"{"name":"Ada","email":"ada@example.com","role":"admin"}"#;

#[tokio::test]
async fn invite_then_duplicate_is_a_conflict_naming_the_status() {
    let (s, _dir) = state(roster_shared::StatusModel::SelfHosted).await;
    let app = socket_router(s);
    let (status, body) = call(&app, "POST", "/api/v1/members", Some(ADA)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(&app, "POST", "/api/v1/members", Some(ADA)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("(status: invited)"), "{body}");
}

#[tokio::test]
async fn the_cloud_model_shows_requested_until_the_account_is_activated() {
    let (s, _dir) = state(roster_shared::StatusModel::Cloud).await;
    let app = socket_router(s.clone());
    call(
        &app,
        "POST",
        "/api/v1/workspaces",
        Some(r#"{"slug":"nexus"}"#),
    )
    .await;
    call(&app, "POST", "/api/v1/members", Some(ADA)).await;
    call(&app, "POST", "/api/v1/members?workspace=nexus", Some(ADA)).await;
    let (_, body) = call(
        &app,
        "GET",
        "/api/v1/members/ada@example.com?workspace=nexus",
        None,
    )
    .await;
    assert!(body.contains(r#""status":"requested""#), "{body}");
    // Accept in the default workspace: the account is activated, so the
    // pending membership elsewhere now shows as invited.
    accept_in_default_workspace(&s, "ada@example.com").await;
    let (_, body) = call(
        &app,
        "GET",
        "/api/v1/members/ada@example.com?workspace=nexus",
        None,
    )
    .await;
    assert!(body.contains(r#""status":"invited""#), "{body}");
    let (_, body) = call(
        &app,
        "GET",
        "/api/v1/members?status=requested&workspace=nexus",
        None,
    )
    .await;
    assert!(body.contains(r#""items":[]"#), "{body}");
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_refused() {
    let (s, _dir) = state(roster_shared::StatusModel::SelfHosted).await;
    let app = socket_router(s);
    let big = format!(
        r#"{{"name":"{}","email":"a@b.co","role":"admin"}}"#,
        "x".repeat(4000)
    );
    let (status, body) = call(&app, "POST", "/api/v1/members", Some(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = call(&app, "POST", "/api/v1/members", Some("{nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not valid JSON"), "{body}");
}

#[tokio::test]
async fn tcp_needs_a_token_and_invite_pages_do_not_enumerate() {
    let (s, _dir) = state(roster_shared::StatusModel::SelfHosted).await;
    let app = tcp_router(s.clone());
    let (status, _) = call(&app, "GET", "/api/v1/members", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (garbage_status, garbage) = call(&app, "GET", "/invite/garbage", None).await;
    assert_eq!(garbage_status, StatusCode::NOT_FOUND);
    let socket = socket_router(s.clone());
    call(&socket, "POST", "/api/v1/members", Some(ADA)).await;
    let link = s
        .services
        .link(None, "ada@example.com")
        .await
        .expect("link");
    let path = link
        .url
        .trim_start_matches("http://roster.test")
        .to_string();
    let (status, page) = call(&app, "GET", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ada") && page.contains("Test"), "{page}");
    call(
        &socket,
        "POST",
        "/api/v1/members/ada@example.com/archive",
        None,
    )
    .await;
    assert_eq!(
        call(&app, "GET", &path, None).await,
        (garbage_status, garbage),
        "revoked looks like unknown"
    );
}

#[tokio::test]
async fn scim_users_show_the_cloud_models_requested_status() {
    let (s, _dir) = state(roster_shared::StatusModel::Cloud).await;
    let socket = socket_router(s.clone());
    let nexus = Some(r#"{"slug":"nexus"}"#);
    call(&socket, "POST", "/api/v1/workspaces", nexus).await;
    call(&socket, "POST", "/api/v1/members", Some(ADA)).await;
    call(
        &socket,
        "POST",
        "/api/v1/members?workspace=nexus",
        Some(ADA),
    )
    .await;
    let secret = s
        .services
        .create_token(
            crate::service::Actor::system(),
            crate::store::records::TokenKind::Scim,
            Some("nexus"),
            "okta",
        )
        .await
        .expect("token")
        .secret;
    let app = tcp_router(s.clone());
    let scim_status = || {
        let (app, secret) = (app.clone(), secret.clone());
        async move {
            let req = Request::builder()
                .uri("/scim/v2/Users?filter=userName%20eq%20%22ada@example.com%22")
                .header("authorization", format!("Bearer {secret}"))
                .body(Body::empty())
                .expect("request");
            let (status, body) = send(&app, req).await;
            assert_eq!(status, StatusCode::OK);
            let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
            doc["Resources"][0]["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(scim_status().await, "requested");
    // Accepting in the default workspace activates the account: the
    // pending membership in nexus now reads as invited.
    accept_in_default_workspace(&s, "ada@example.com").await;
    assert_eq!(scim_status().await, "invited");
}

/// The words of a member in the search index, read from the store.
fn indexed_words(s: &AppState) -> Vec<String> {
    use redb::ReadableTable;
    s.services
        .store
        .read_now(|txn| {
            let words = txn.open_table(crate::store::tables::MEMBER_WORDS)?;
            let mut found = Vec::new();
            for entry in words.iter()? {
                found.push(entry?.0.value().1.to_string());
            }
            Ok(found)
        })
        .expect("read words")
}

#[tokio::test]
async fn words_an_earlier_version_indexed_are_found_once_and_removed_with_the_name() {
    let (s, _dir) = state(roster_shared::StatusModel::SelfHosted).await;
    let app = socket_router(s.clone());
    let grace = r#"{"name":"Grace Hopper","email":"grace.hopper2@navy.mil","role":"builder"}"#;
    assert_eq!(
        call(&app, "POST", "/api/v1/members", Some(grace)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(indexed_words(&s), ["hopper2", "navy.mil"]);
    // Earlier versions also indexed `grace` and `hopper`, which the address
    // and `hopper2` cover.
    let (ws, id) = s
        .services
        .store
        .read_now(|txn| {
            use redb::ReadableTable;
            let members = txn.open_table(crate::store::tables::MEMBERS)?;
            let (key, _) = members.first()?.expect("one member");
            Ok(key.value())
        })
        .expect("member key");
    s.services
        .store
        .write(move |tx| {
            for w in ["grace", "hopper"] {
                tx.member_words()?.insert((ws, w, id), ())?;
            }
            Ok(())
        })
        .await
        .expect("old-style words");
    for q in ["gra", "hop", "hopper", "hopper2", "navy"] {
        let (_, body) = call(&app, "GET", &format!("/api/v1/members?q={q}"), None).await;
        assert_eq!(
            body.matches("grace.hopper2@navy.mil").count(),
            1,
            "q={q}: {body}"
        );
    }
    let (status, body) = call(
        &app,
        "PATCH",
        "/api/v1/members/grace.hopper2@navy.mil",
        Some(r#"{"name":"Amazing Grace"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(indexed_words(&s), ["amazing", "hopper2", "navy.mil"]);
    let (_, body) = call(&app, "GET", "/api/v1/members?q=amaz", None).await;
    assert!(body.contains("grace.hopper2@navy.mil"), "{body}");
}
