//! The one admin-API client: over the local Unix socket or TCP with a token.

use std::path::PathBuf;

use reqwest::{Method, RequestBuilder, StatusCode};
use roster_shared::api::{ACTOR_HEADER, ApiError, SOURCE_HEADER, Source};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a request did not succeed, as one sentence for the admin.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach rosterd at {0}: is it running? Start it with `rosterd` (or point --socket / --url at it)"
    )]
    Unreachable(String),
    #[error("{0}")]
    Api(String),
    #[error("unexpected answer from rosterd ({status}): {detail}")]
    Protocol { status: StatusCode, detail: String },
    #[error("{0}")]
    Usage(String),
}

/// Where the daemon is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Socket(PathBuf),
    Url { base: String, token: String },
}

impl Endpoint {
    fn describe(&self) -> String {
        match self {
            Endpoint::Socket(p) => p.display().to_string(),
            Endpoint::Url { base, .. } => base.clone(),
        }
    }
}

/// The default socket: the default data dir's `rosterd.sock`.
pub fn default_socket() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("roster")
        .join("rosterd.sock")
}

/// Refuses a `--url` that is not an absolute http(s) URL, before any
/// request can fail with the HTTP library's own words.
fn check_url(base: &str) -> Result<(), ClientError> {
    let refused = || {
        ClientError::Usage(format!(
            "--url {base} is not an http:// or https:// URL; write it like https://roster.example.com or http://127.0.0.1:8080"
        ))
    };
    let url = reqwest::Url::parse(base).map_err(|_| refused())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused());
    }
    Ok(())
}

/// A client bound to one daemon.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    endpoint: Endpoint,
    source: Source,
    actor: String,
}

impl Client {
    /// A client for `endpoint`, recording changes as made from `source`.
    pub fn new(endpoint: Endpoint, source: Source) -> Result<Self, ClientError> {
        let builder =
            reqwest::Client::builder().user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")));
        let (http, base) = match &endpoint {
            Endpoint::Socket(path) => (
                builder.unix_socket(path.clone()).build(),
                "http://rosterd".to_string(),
            ),
            Endpoint::Url { base, .. } => {
                check_url(base)?;
                (builder.build(), base.trim_end_matches('/').to_string())
            }
        };
        let http =
            http.map_err(|e| ClientError::Usage(format!("cannot set up the HTTP client: {e}")))?;
        let actor = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "local admin".into());
        Ok(Self {
            http,
            base,
            endpoint,
            source,
            actor,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header(SOURCE_HEADER, self.source.as_str())
            .header(ACTOR_HEADER, &self.actor);
        if let Endpoint::Url { token, .. } = &self.endpoint {
            req = req.bearer_auth(token);
        }
        req
    }

    /// GET with a query.
    pub async fn get<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        self.send(self.request(Method::GET, path).query(query))
            .await
    }

    /// A write with a JSON body and a `?workspace=` query.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        workspace: Option<&str>,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(
            self.request(method, path)
                .query(&[("workspace", workspace)])
                .json(body),
        )
        .await
    }

    /// A write without a body that answers with JSON.
    pub async fn post_empty<T: DeserializeOwned>(
        &self,
        path: &str,
        workspace: Option<&str>,
    ) -> Result<T, ClientError> {
        self.send(
            self.request(Method::POST, path)
                .query(&[("workspace", workspace)]),
        )
        .await
    }

    /// A POST whose body is a file streamed from disk (CSV uploads).
    pub async fn upload<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
        file: tokio::fs::File,
    ) -> Result<T, ClientError> {
        self.send(
            self.request(Method::POST, path)
                .query(query)
                .header(reqwest::header::CONTENT_TYPE, "text/csv")
                .body(reqwest::Body::from(file)),
        )
        .await
    }

    /// The daemon's change stream (`/api/v1/events`) for `workspace` (the
    /// default one if none), still streaming.
    pub async fn event_stream(
        &self,
        workspace: Option<&str>,
    ) -> Result<reqwest::Response, ClientError> {
        let resp = self
            .request(Method::GET, "/events")
            .query(&[("workspace", workspace)])
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        check(resp).await
    }

    /// Where this client sends its requests, for messages.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A DELETE that answers 204.
    pub async fn delete(&self, path: &str, workspace: Option<&str>) -> Result<(), ClientError> {
        let resp = self
            .request(Method::DELETE, path)
            .query(&[("workspace", workspace)])
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        check(resp).await.map(|_| ())
    }

    /// A DELETE with a JSON body.
    pub async fn delete_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        workspace: Option<&str>,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send_json(Method::DELETE, path, workspace, body).await
    }

    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, ClientError> {
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let resp = check(resp).await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            status,
            detail: e.to_string(),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ClientError {
        if e.is_connect() {
            ClientError::Unreachable(self.endpoint.describe())
        } else {
            ClientError::Api(format!("talking to rosterd failed: {e}"))
        }
    }
}

/// Percent-encodes one path segment (e-mails, group names).
pub fn segment(s: &str) -> String {
    urlencoding::encode(s).into_owned()
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<ApiError>(&text) {
        Ok(err) => Err(ClientError::Api(err.message)),
        Err(_) => Err(ClientError::Protocol {
            status,
            detail: text.chars().take(200).collect(),
        }),
    }
}
