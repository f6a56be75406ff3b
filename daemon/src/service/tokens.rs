//! SCIM and admin bearer tokens: shown once, stored as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use redb::ReadableTable;
use roster_shared::api::{TokenCreatedResponse, TokenResponse};
use roster_shared::names;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::collections::HashMap;

use super::{Actor, Services, audit, workspaces};
use crate::clock;
use crate::error::ServiceError;
use crate::store::Tx;
use crate::store::new_id;
use crate::store::records::{TokenKind, TokenRecord, WorkspaceRecord, decode, encode};
use crate::store::tables::{TOKEN_HASHES, TOKENS, WORKSPACES};

/// The hex SHA-256 of a secret, as stored.
fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Scim => "roster_scim_",
        TokenKind::Admin => "roster_admin_",
    }
}

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub name: String,
    /// The workspace a SCIM token provisions: (id, slug).
    pub workspace: Option<(uuid::Uuid, String)>,
}

/// Tokens already checked against the database, so that a request does not
/// pay a read transaction for its credentials. Revoking clears it; the
/// generation keeps a check that raced a revocation from caching its
/// stale answer.
#[derive(Debug, Default)]
pub struct TokenCache {
    inner: std::sync::RwLock<CachedChecks>,
}

/// The generation and the owners by (kind, secret hash).
type CachedChecks = (u64, HashMap<(TokenKind, String), TokenOwner>);

impl TokenCache {
    /// The cached owner, or the generation to insert under after a check.
    fn get(&self, key: &(TokenKind, String)) -> Result<TokenOwner, u64> {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        guard.1.get(key).cloned().ok_or(guard.0)
    }

    fn insert(&self, generation: u64, key: (TokenKind, String), owner: TokenOwner) {
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 == generation {
            guard.1.insert(key, owner);
        }
    }

    fn clear(&self) {
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        guard.1.clear();
    }
}

impl Services {
    /// Creates a token; the secret is in the answer and nowhere else.
    pub async fn create_token(
        &self,
        actor: Actor,
        kind: TokenKind,
        workspace: Option<&str>,
        name: &str,
    ) -> Result<TokenCreatedResponse, ServiceError> {
        let name =
            names::person_name(name).map_err(|e| ServiceError::BadRequest(format!("token {e}")))?;
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let secret = format!("{}{}", prefix(kind), URL_SAFE_NO_PAD.encode(raw));
        let hash = hash_hex(&secret);
        let slug = (kind == TokenKind::Scim).then(|| self.workspace_slug(workspace));
        let admin_slug = self.settings.default_workspace.clone();
        let (record, ws_slug) = self
            .store
            .write(move |tx| {
                let ws = slug.as_deref().map(|s| workspaces::find_write(tx, s)).transpose()?;
                let ws_id = ws.as_ref().map(|w| w.id);
                if find_by_name(tx, kind, ws_id, &name)?.is_some() {
                    return Err(ServiceError::Conflict(format!("a token named \"{name}\" already exists; revoke it first or pick another name")));
                }
                let record = TokenRecord { id: new_id(), kind, workspace: ws_id, name: name.clone(), hash: hash.clone(), created_at: clock::now_ms(), last_used_at: None };
                tx.tokens()?.insert(record.id.as_u128(), encode(&record)?.as_slice())?;
                tx.token_hashes()?.insert(hash.as_bytes(), record.id.as_u128())?;
                let audit_ws = match &ws {
                    Some(w) => w.id,
                    None => workspaces::find_write(tx, &admin_slug)?.id,
                };
                audit::append(tx, audit_ws, &actor, &format!("{}_token.created", kind_name(kind)), &name, None, None)?;
                Ok((record, ws.map(|w| w.slug)))
            })
            .await?;
        self.publish(
            ws_slug
                .as_deref()
                .unwrap_or(&self.settings.default_workspace),
            "token.created",
            &record.name,
        );
        Ok(TokenCreatedResponse {
            token: token_view(&record, ws_slug),
            secret,
        })
    }

    /// Lists tokens of a kind (SCIM tokens of one workspace).
    pub async fn list_tokens(
        &self,
        kind: TokenKind,
        workspace: Option<&str>,
    ) -> Result<Vec<TokenResponse>, ServiceError> {
        let slug = (kind == TokenKind::Scim).then(|| self.workspace_slug(workspace));
        self.store
            .read(move |txn| {
                let ws = slug
                    .as_deref()
                    .map(|s| workspaces::find_read(txn, s))
                    .transpose()?;
                let mut out = Vec::new();
                for entry in txn.open_table(TOKENS)?.iter()? {
                    let t: TokenRecord = decode(entry?.1.value())?;
                    if t.kind == kind && t.workspace == ws.as_ref().map(|w| w.id) {
                        out.push(token_view(&t, ws.as_ref().map(|w| w.slug.clone())));
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Revokes a token by name; it stops working at once.
    pub async fn revoke_token(
        &self,
        actor: Actor,
        kind: TokenKind,
        workspace: Option<&str>,
        name: &str,
    ) -> Result<(), ServiceError> {
        let slug = (kind == TokenKind::Scim).then(|| self.workspace_slug(workspace));
        let admin_slug = self.settings.default_workspace.clone();
        let name = name.trim().to_string();
        let target = name.clone();
        let ws_slug = self
            .store
            .write(move |tx| {
                let ws = slug
                    .as_deref()
                    .map(|s| workspaces::find_write(tx, s))
                    .transpose()?;
                let ws_id = ws.as_ref().map(|w| w.id);
                let found = find_by_name(tx, kind, ws_id, &name)?;
                let t = found.ok_or_else(|| {
                    ServiceError::NotFound(format!("no {} token named \"{name}\"", kind_name(kind)))
                })?;
                tx.tokens()?.remove(t.id.as_u128())?;
                tx.token_hashes()?.remove(t.hash.as_bytes())?;
                let audit_ws = match &ws {
                    Some(w) => w.id,
                    None => workspaces::find_write(tx, &admin_slug)?.id,
                };
                audit::append(
                    tx,
                    audit_ws,
                    &actor,
                    &format!("{}_token.revoked", kind_name(kind)),
                    &t.name,
                    None,
                    None,
                )?;
                Ok(ws.map(|w| w.slug))
            })
            .await?;
        // Committed: no cached check may let the token in any more.
        self.token_cache.clear();
        self.publish(
            ws_slug
                .as_deref()
                .unwrap_or(&self.settings.default_workspace),
            "token.revoked",
            &target,
        );
        Ok(())
    }

    /// Checks a presented bearer secret; `None` if it is not a live token
    /// of this kind.
    pub async fn authenticate(
        &self,
        kind: TokenKind,
        secret: &str,
    ) -> Result<Option<TokenOwner>, ServiceError> {
        if !secret.starts_with(prefix(kind)) {
            return Ok(None);
        }
        let hash = hash_hex(secret);
        let key = (kind, hash.clone());
        let generation = match self.token_cache.get(&key) {
            Ok(owner) => return Ok(Some(owner)),
            Err(generation) => generation,
        };
        let owner = self
            .store
            .read(move |txn| {
                let Some(id) = txn
                    .open_table(TOKEN_HASHES)?
                    .get(hash.as_bytes())?
                    .map(|v| v.value())
                else {
                    return Ok(None);
                };
                let Some(bytes) = txn.open_table(TOKENS)?.get(id)?.map(|v| v.value().to_vec())
                else {
                    return Ok(None);
                };
                let t: TokenRecord = decode(&bytes)?;
                if t.kind != kind || !bool::from(t.hash.as_bytes().ct_eq(hash.as_bytes())) {
                    return Ok(None);
                }
                let workspace = match t.workspace {
                    Some(w) => txn
                        .open_table(WORKSPACES)?
                        .get(w.as_u128())?
                        .map(|v| decode::<WorkspaceRecord>(v.value()))
                        .transpose()?
                        .map(|ws| (ws.id, ws.slug)),
                    None => None,
                };
                Ok(Some(TokenOwner {
                    name: t.name,
                    workspace,
                }))
            })
            .await?;
        if let Some(o) = &owner {
            self.token_cache.insert(generation, key, o.clone());
        }
        Ok(owner)
    }
}

/// The token of a kind, workspace and name (names compare case-insensitively).
fn find_by_name(
    tx: &Tx<'_>,
    kind: TokenKind,
    workspace: Option<uuid::Uuid>,
    name: &str,
) -> Result<Option<TokenRecord>, ServiceError> {
    for entry in tx.tokens()?.iter()? {
        let t: TokenRecord = decode(entry?.1.value())?;
        if t.kind == kind && t.workspace == workspace && t.name.eq_ignore_ascii_case(name) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Scim => "scim",
        TokenKind::Admin => "admin",
    }
}

fn token_view(t: &TokenRecord, workspace: Option<String>) -> TokenResponse {
    TokenResponse {
        id: t.id.to_string(),
        name: t.name.clone(),
        workspace,
        created_at: clock::to_datetime(t.created_at),
    }
}
