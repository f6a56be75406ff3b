//! What each table stores, as serde records.
//!
//! Records are MessagePack maps with named fields: self-describing like JSON
//! (so `#[serde(default)]` fields and renames migrate without a rewrite) and
//! about twice as fast to decode. Records written once per member or event
//! (members, read fifty at a time by every list page; accounts, audit
//! events, outbox messages) are MessagePack arrays instead (see
//! [`encode_compact`]).
//! Records written as JSON by earlier versions are still read: a JSON object
//! starts with `{`, which no MessagePack map or array does.

use roster_shared::api::{ImportCounts, ImportMode, ImportStatus, MailStatus, Source};
use roster_shared::scim::user::ScimProfile;
use roster_shared::{Metadata, Role, StoredStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ServiceError;

/// Encodes a record for a table value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ServiceError> {
    rmp_serde::to_vec_named(value).map_err(ServiceError::storage)
}

/// Encodes a record written once per member or per event (members,
/// accounts, audit events, outbox messages) as a MessagePack array (fields
/// by position, not by name): half the bytes of the named form and over
/// twice as fast to decode, and a million-row import writes millions of
/// them. Reading still accepts the named form of earlier versions (serde
/// takes a struct from a map or an array). New fields must go last, with
/// `#[serde(default)]`, and no field of the record or of the types inside
/// it may be skipped when serialized: a skipped field would shift every
/// field after it.
pub fn encode_compact<T: Serialize>(record: &T) -> Result<Vec<u8>, ServiceError> {
    rmp_serde::to_vec(record).map_err(ServiceError::storage)
}

/// A weak ETag over a record's stored bytes: it changes whenever anything
/// the record holds does.
pub fn version_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    format!("W/\"{}\"", hex::encode(&digest[..8]))
}

/// Decodes a record read from a table, in either encoding.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    if bytes.first() == Some(&b'{') {
        return Ok(serde_json::from_slice(bytes)?);
    }
    rmp_serde::from_slice(bytes).map_err(ServiceError::storage)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    #[serde(default)]
    pub scim_creates_active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: Uuid,
    pub email: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
}

/// A live invitation link. The token is derived from `id` and `nonce` with
/// a key kept outside the database, so this record alone is not a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub nonce: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub id: Uuid,
    pub workspace: Uuid,
    pub account: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub groups: Vec<Uuid>,
    pub metadata: Metadata,
    pub status: StoredStatus,
    pub external_id: Option<String>,
    pub source: Source,
    pub invited_by: String,
    pub invited_at: i64,
    pub activated_at: Option<i64>,
    pub archived_at: Option<i64>,
    pub last_invite_sent_at: Option<i64>,
    pub updated_at: i64,
    pub invitation: Option<InvitationRecord>,
    /// What an identity provider wrote that the domain does not model
    /// (name parts, e-mails, enterprise attributes), kept for SCIM reads.
    #[serde(default)]
    pub scim: Option<ScimProfile>,
}

impl MemberRecord {
    /// The e-mail lookup key.
    pub fn email_key(&self) -> String {
        roster_shared::Email::key_of(&self.email)
    }

    /// The name sort key.
    pub fn name_key(&self) -> String {
        self.name.to_lowercase()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    /// The identity provider's id for the group (SCIM `externalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Last rename or externalId change (SCIM `meta.lastModified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Scim,
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: Uuid,
    pub kind: TokenKind,
    pub workspace: Option<Uuid>,
    pub name: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: i64,
    pub actor: String,
    pub source: Source,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub id: Uuid,
    pub workspace: Uuid,
    pub member: Uuid,
    /// The invitation whose link this message carries; if it is no longer
    /// the member's current one when it is due, the message is cancelled.
    pub invitation: Uuid,
    pub to: String,
    pub subject: String,
    pub inviter: String,
    pub status: MailStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
}

/// Which pass an import job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportPhase {
    /// Rows are checked in transactions that are rolled back (dry runs and
    /// the first pass of all-or-nothing).
    Rehearse,
    /// Rows are applied for real.
    Apply,
}

/// A CSV import job. Progress (`counts.rows`, `report_len`) is written in
/// the same transaction as the rows it counts, so a restart resumes exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportJobRecord {
    pub id: Uuid,
    /// `None` when the file named a workspace that does not exist.
    pub workspace: Option<Uuid>,
    pub workspace_slug: String,
    pub file_name: String,
    pub dry_run: bool,
    pub mode: ImportMode,
    pub status: ImportStatus,
    pub phase: ImportPhase,
    pub counts: ImportCounts,
    /// Bytes of the report that belong to `counts.rows` rows.
    pub report_len: u64,
    /// Who handed the file in (the drop folder or an admin's upload).
    pub actor: String,
    /// Where the file was before it was claimed (recovery renames it into
    /// `processing/` if a crash came between the record and the rename).
    pub claimed_from: Option<String>,
    /// The file could not be read; it goes to `failed/`.
    #[serde(default)]
    pub failed: bool,
    /// Header names the importer did not understand (ignored).
    #[serde(default)]
    pub ignored_columns: Vec<String>,
    /// Set when the file changed while it was read (a writer still at work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_changed: Option<String>,
    pub message: Option<String>,
    /// Final places, chosen before the moves so a restart finishes them.
    pub file_path: Option<String>,
    pub report_path: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Rows per window applied in e-mail order, fixed when the job is made
    /// so that a resumed job cuts the same windows; 0 (jobs of earlier
    /// versions) applies rows in file order.
    #[serde(default)]
    pub sort_window: u64,
    /// Of `counts.rows`, how many have their search words in the word
    /// index: the others' are held back to be written in key order (see
    /// `DeferredWords`) and are found again from the file after a crash.
    #[serde(default)]
    pub words_through: u64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use roster_shared::scim::user::ScimEmail;

    /// A member with every field set, for tests of what stores them.
    pub(crate) fn member() -> MemberRecord {
        MemberRecord {
            id: Uuid::now_v7(),
            workspace: Uuid::now_v7(),
            account: Uuid::now_v7(),
            email: "Ada.Lovelace@example.com".into(),
            name: "Ada Lovelace".into(),
            role: Role::Builder,
            groups: vec![Uuid::now_v7()],
            metadata: Metadata::default(),
            status: StoredStatus::Pending,
            external_id: Some("okta-1".into()),
            source: Source::Scim,
            invited_by: "okta".into(),
            invited_at: 1,
            activated_at: None,
            archived_at: None,
            last_invite_sent_at: Some(2),
            updated_at: 3,
            invitation: Some(InvitationRecord {
                id: Uuid::now_v7(),
                nonce: "n".into(),
                created_at: 1,
                expires_at: 9,
            }),
            scim: Some(ScimProfile {
                enterprise: serde_json::json!({"manager": {"value": "x"}, "costCenter": "7"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                ..ScimProfile::default()
            }),
        }
    }

    /// Every kind of record is written as a MessagePack array (fields cost
    /// no names) and reads back equal, and the forms earlier versions wrote,
    /// named MessagePack and JSON, still read.
    #[test]
    fn records_are_positional_and_earlier_forms_still_read() {
        fn check<T: Serialize + DeserializeOwned + std::fmt::Debug>(record: &T) {
            let positional = encode_compact(record).expect("encode");
            assert!(
                matches!(positional.first(), Some(0x90..=0x9f | 0xdc)),
                "a MessagePack array"
            );
            let named = rmp_serde::to_vec_named(record).expect("named");
            let json = serde_json::to_vec(record).expect("json");
            for (form, bytes) in [
                ("positional", &positional),
                ("named", &named),
                ("JSON", &json),
            ] {
                let back: T = decode(bytes).unwrap_or_else(|e| panic!("{form} form: {e}"));
                assert_eq!(format!("{back:?}"), format!("{record:?}"), "{form} form");
            }
        }
        let m = member();
        check(&m);
        let named = rmp_serde::to_vec_named(&m).expect("named");
        assert!(
            encode_compact(&m).expect("encode").len() * 3 < named.len() * 2,
            "a member's fields cost no names"
        );
        check(&AuditRecord {
            id: m.id,
            at: 1,
            actor: "hr.csv".into(),
            source: Source::Csv,
            action: "member.invited".into(),
            target: m.email.clone(),
            before: None,
            after: Some(serde_json::json!({"role": "builder", "groups": ["Sales"]})),
        });
        for (last_error, sent_at) in [(None, Some(9)), (Some("refused".to_string()), None)] {
            check(&OutboxRecord {
                id: m.id,
                workspace: m.workspace,
                member: m.id,
                invitation: m.id,
                to: m.email.clone(),
                subject: "You are invited".into(),
                inviter: "admin".into(),
                status: MailStatus::Queued,
                attempts: 2,
                last_error,
                created_at: 1,
                next_attempt_at: None,
                sent_at,
            });
        }
        check(&AccountRecord {
            id: m.account,
            email: m.email.clone(),
            created_at: 1,
            activated_at: Some(2),
        });
    }

    #[test]
    fn optional_parts_inside_a_member_keep_their_places() {
        // Every combination of the optional values nested in a member: a
        // field left out of a positional record would shift the ones after
        // it and read back as another.
        let email = |kind: Option<&str>, primary: Option<bool>| ScimEmail {
            value: "ada@example.com".into(),
            kind: kind.map(str::to_string),
            primary,
        };
        let profiles = [
            None,
            Some(ScimProfile::default()),
            Some(ScimProfile {
                family_name: Some("Lovelace".into()),
                emails: vec![email(None, Some(true)), email(Some("home"), None)],
                ..ScimProfile::default()
            }),
            Some(ScimProfile {
                formatted: Some("Ada Lovelace".into()),
                display_name: Some("Ada".into()),
                ..ScimProfile::default()
            }),
        ];
        let metadatas = [
            Metadata::default(),
            Metadata::parse_json(r#"{"team":"a"}"#).expect("metadata"),
            Metadata {
                hidden: ["team".to_string()].into(),
                ..Metadata::parse_json(r#"{"team":"a","desk":"4"}"#).expect("metadata")
            },
        ];
        for scim in &profiles {
            for metadata in &metadatas {
                for invitation in [None, member().invitation] {
                    let m = MemberRecord {
                        scim: scim.clone(),
                        metadata: metadata.clone(),
                        invitation,
                        external_id: None,
                        groups: Vec::new(),
                        ..member()
                    };
                    let back: MemberRecord =
                        decode(&encode_compact(&m).expect("encode")).expect("decode");
                    assert_eq!(back, m);
                }
            }
        }
    }

    #[test]
    fn audit_snapshots_keep_any_json() {
        let r = AuditRecord {
            id: Uuid::now_v7(),
            at: 1,
            actor: "admin".into(),
            source: Source::Cli,
            action: "member.updated".into(),
            target: "a@example.com".into(),
            before: Some(serde_json::json!({"role": "builder", "groups": ["a"], "n": 1.5})),
            after: None,
        };
        let back: AuditRecord = decode(&encode(&r).expect("encode")).expect("decode");
        assert_eq!(back.before, r.before);
        assert_eq!(back.after, None);
    }

    #[test]
    fn garbage_is_a_storage_error_not_a_panic() {
        assert!(decode::<MemberRecord>(&[0xc1, 0x00, 0xff]).is_err());
        assert!(decode::<MemberRecord>(b"{not json").is_err());
    }
}
