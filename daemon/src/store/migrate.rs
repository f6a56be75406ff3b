//! Schema versions and the steps between them.
//!
//! Each step runs in one write transaction together with the version bump,
//! so a crash mid-migration leaves the previous version intact.

use redb::{Database, ReadableTable, WriteTransaction};

use super::records::{MemberRecord, decode};
use super::tables::*;
use crate::error::ServiceError;

/// The schema this build reads and writes.
pub const CURRENT_VERSION: u64 = 6;

type Step = fn(&WriteTransaction) -> Result<(), ServiceError>;

/// Step `i` takes the schema from version `i` to `i + 1`.
const STEPS: &[Step] = &[
    create_tables_v1,
    add_import_jobs_v2,
    index_email_values_v3,
    count_removals_v4,
    fold_search_words_v5,
    count_group_members_v6,
];

/// Brings the database to [`CURRENT_VERSION`], refusing newer ones.
pub fn run(db: &Database) -> Result<(), ServiceError> {
    loop {
        let txn = super::begin_write(db)?;
        let version = read_version(&txn)?;
        if version == CURRENT_VERSION {
            return Ok(());
        }
        if version > CURRENT_VERSION {
            return Err(ServiceError::storage(format!(
                "the database has schema version {version}, newer than this rosterd supports ({CURRENT_VERSION}); upgrade rosterd"
            )));
        }
        let step = STEPS[usize::try_from(version).map_err(ServiceError::storage)?];
        step(&txn)?;
        txn.open_table(META)?
            .insert("schema_version", version + 1)?;
        txn.commit()?;
        tracing::info!(from = version, to = version + 1, "migrated database schema");
    }
}

fn read_version(txn: &WriteTransaction) -> Result<u64, ServiceError> {
    let meta = txn.open_table(META)?;
    Ok(meta.get("schema_version")?.map(|v| v.value()).unwrap_or(0))
}

fn create_tables_v1(txn: &WriteTransaction) -> Result<(), ServiceError> {
    txn.open_table(WORKSPACES)?;
    txn.open_table(WORKSPACE_SLUGS)?;
    txn.open_table(ACCOUNTS)?;
    txn.open_table(ACCOUNT_EMAILS)?;
    txn.open_table(MEMBERS)?;
    txn.open_table(MEMBER_EMAILS)?;
    txn.open_table(MEMBER_STATUS_NAMES)?;
    txn.open_table(MEMBER_STATUSES)?;
    txn.open_table(MEMBER_ROLES)?;
    txn.open_table(MEMBER_GROUPS)?;
    txn.open_table(MEMBER_EXTERNAL_IDS)?;
    txn.open_table(MEMBER_WORDS)?;
    txn.open_table(MEMBER_COUNTS)?;
    txn.open_table(GROUPS)?;
    txn.open_table(GROUP_NAMES)?;
    txn.open_table(INVITATIONS)?;
    txn.open_table(TOKENS)?;
    txn.open_table(TOKEN_HASHES)?;
    txn.open_table(AUDIT)?;
    txn.open_table(OUTBOX)?;
    txn.open_table(OUTBOX_DUE)?;
    txn.open_table(OUTBOX_STATUSES)?;
    Ok(())
}

/// Version 2: CSV import jobs.
fn add_import_jobs_v2(txn: &WriteTransaction) -> Result<(), ServiceError> {
    txn.open_table(IMPORT_JOBS)?;
    Ok(())
}

/// Version 3: the index of SCIM `emails` values, built from the members
/// already stored (Microsoft Entra ID finds users by a work e-mail).
fn index_email_values_v3(txn: &WriteTransaction) -> Result<(), ServiceError> {
    let members = txn.open_table(MEMBERS)?;
    let mut values = txn.open_table(MEMBER_EMAIL_VALUES)?;
    for entry in members.iter()? {
        let (key, record) = entry?;
        let (ws, id) = key.value();
        let m: MemberRecord = decode(record.value())?;
        for email in super::members::other_email_keys(&m) {
            values.insert((ws, email.as_str(), id), ())?;
        }
    }
    Ok(())
}

/// Version 4: removals counted per workspace (SCIM page positions).
fn count_removals_v4(txn: &WriteTransaction) -> Result<(), ServiceError> {
    txn.open_table(MEMBER_REMOVALS)?;
    Ok(())
}

/// Version 5: search words without accents (`lukasiewicz` finds
/// Łukasiewicz). Only members whose words change are rewritten.
fn fold_search_words_v5(txn: &WriteTransaction) -> Result<(), ServiceError> {
    let members = txn.open_table(MEMBERS)?;
    let mut words = txn.open_table(MEMBER_WORDS)?;
    let mut rewritten = 0u64;
    for entry in members.iter()? {
        let (key, record) = entry?;
        let (ws, id) = key.value();
        let m: MemberRecord = decode(record.value())?;
        let Some((stale, now)) = super::members::refolded_words(&m) else {
            continue;
        };
        for w in &stale {
            words.remove((ws, w.as_str(), id))?;
        }
        for w in &now {
            words.insert((ws, w.as_str(), id), ())?;
        }
        rewritten += 1;
    }
    tracing::info!(members = rewritten, "search words folded");
    Ok(())
}

/// Version 6: each group's size and member digest (SCIM group versions
/// without reading the members), from the membership index.
fn count_group_members_v6(txn: &WriteTransaction) -> Result<(), ServiceError> {
    super::memberships::rebuild(txn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableTableMetadata;

    #[test]
    fn a_new_database_reaches_the_current_version_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.redb");
        {
            let db = Database::create(&path).expect("create");
            run(&db).expect("migrate");
        }
        let db = Database::create(&path).expect("reopen");
        run(&db).expect("no-op migrate");
        let txn = db.begin_write().expect("txn");
        assert_eq!(read_version(&txn).expect("version"), CURRENT_VERSION);
    }

    /// A database as an older build left it: the first `version` steps
    /// run, and a transaction open to put that build's data in.
    fn database_at(dir: &tempfile::TempDir, version: u64) -> (Database, WriteTransaction) {
        let db = Database::create(dir.path().join("db.redb")).expect("create");
        let txn = db.begin_write().expect("txn");
        for step in &STEPS[..version as usize] {
            step(&txn).expect("older step");
        }
        txn.open_table(META)
            .expect("meta")
            .insert("schema_version", version)
            .expect("version");
        (db, txn)
    }

    #[test]
    fn a_version_1_database_gains_the_import_jobs_table_and_keeps_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, txn) = database_at(&dir, 1);
        txn.open_table(WORKSPACE_SLUGS)
            .expect("slugs")
            .insert("kept", 7)
            .expect("row");
        txn.commit().expect("commit");
        run(&db).expect("migrate");
        let txn = db.begin_write().expect("txn");
        assert_eq!(read_version(&txn).expect("version"), CURRENT_VERSION);
        let slugs = txn.open_table(WORKSPACE_SLUGS).expect("slugs");
        assert_eq!(slugs.get("kept").expect("get").map(|v| v.value()), Some(7));
        assert!(
            txn.open_table(IMPORT_JOBS)
                .expect("jobs")
                .is_empty()
                .expect("empty")
        );
    }

    #[test]
    fn a_version_2_database_gains_the_index_of_scim_email_values() {
        use super::super::records::encode_compact;
        use redb::ReadableDatabase;
        use roster_shared::scim::user::ScimEmail;
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, txn) = database_at(&dir, 2);
        let mut m = super::super::records::tests::member();
        let own = m.email.clone();
        if let Some(p) = m.scim.as_mut() {
            p.emails = vec![
                ScimEmail {
                    value: "Ada@Work.example".into(),
                    kind: Some("work".into()),
                    primary: Some(true),
                },
                ScimEmail {
                    value: own,
                    kind: Some("other".into()),
                    primary: None,
                },
            ];
        }
        txn.open_table(MEMBERS)
            .expect("members")
            .insert(
                (m.workspace.as_u128(), m.id.as_u128()),
                encode_compact(&m).expect("encode").as_slice(),
            )
            .expect("row");
        txn.commit().expect("commit");
        run(&db).expect("migrate");
        let txn = db.begin_read().expect("read");
        let values = txn.open_table(MEMBER_EMAIL_VALUES).expect("values");
        let entries: Vec<(u128, String, u128)> = values
            .iter()
            .expect("iter")
            .map(|e| {
                let (k, _) = e.expect("entry");
                let (ws, key, id) = k.value();
                (ws, key.to_string(), id)
            })
            .collect();
        assert_eq!(
            entries,
            vec![(
                m.workspace.as_u128(),
                "ada@work.example".to_string(),
                m.id.as_u128()
            )],
            "the member's own address is left to member_emails"
        );
    }

    #[test]
    fn a_version_4_database_gets_its_search_words_folded() {
        use super::super::records::encode_compact;
        use redb::ReadableDatabase;
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, txn) = database_at(&dir, 4);
        let mut zoe = super::super::records::tests::member();
        zoe.name = "Zoë Ångström".into();
        zoe.email = "zoe@example.com".into();
        let mut ada = super::super::records::tests::member();
        ada.id = uuid::Uuid::from_u128(zoe.id.as_u128() + 1);
        ada.name = "Ada Lovelace".into();
        ada.email = "ada.lovelace@example.com".into();
        let ws = zoe.workspace.as_u128();
        {
            let mut members = txn.open_table(MEMBERS).expect("members");
            let mut words = txn.open_table(MEMBER_WORDS).expect("words");
            // What version 4 wrote: lower-cased words, accents kept.
            for (m, old_words) in [
                (&zoe, &["ångström", "example.com"][..]),
                (&ada, &["example.com", "lovelace"][..]),
            ] {
                members
                    .insert(
                        (ws, m.id.as_u128()),
                        encode_compact(m).expect("encode").as_slice(),
                    )
                    .expect("member");
                for w in old_words {
                    words.insert((ws, *w, m.id.as_u128()), ()).expect("word");
                }
            }
        }
        txn.commit().expect("commit");
        run(&db).expect("migrate");
        let txn = db.begin_read().expect("read");
        let words = txn.open_table(MEMBER_WORDS).expect("words");
        let mut entries: Vec<(String, u128)> = words
            .iter()
            .expect("iter")
            .map(|e| {
                let (k, _) = e.expect("entry");
                let (_, word, id) = k.value();
                (word.to_string(), id)
            })
            .collect();
        entries.sort();
        let (z, a) = (zoe.id.as_u128(), ada.id.as_u128());
        assert_eq!(
            entries,
            [
                ("angstrom".to_string(), z),
                ("example.com".to_string(), z),
                ("example.com".to_string(), a),
                ("lovelace".to_string(), a),
            ]
        );
    }

    #[test]
    fn a_version_5_database_gets_each_group_s_size_and_digest() {
        use super::super::memberships::{self, Membership};
        use redb::ReadableDatabase;
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, txn) = database_at(&dir, 5);
        let (ws, other_ws, big, small) = (1u128, 2u128, 10u128, 11u128);
        {
            let mut links = txn.open_table(MEMBER_GROUPS).expect("links");
            for member in 100..350u128 {
                links.insert((ws, big, member), ()).expect("link");
            }
            for (w, member) in [(ws, 100u128), (other_ws, 7)] {
                links.insert((w, small, member), ()).expect("link");
            }
        }
        txn.commit().expect("commit");
        run(&db).expect("migrate");
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(GROUP_MEMBERSHIPS).expect("memberships");
        let of = |w, g| memberships::get(&table, w, g).expect("get");
        assert_eq!(of(ws, big), Membership::of(100..350));
        assert_eq!(of(ws, big).members, 250);
        assert_eq!(of(ws, small), Membership::of([100]));
        assert_eq!(of(other_ws, small), Membership::of([7]));
        assert_eq!(of(other_ws, big), Membership::default(), "no members");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::create(dir.path().join("db.redb")).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("schema_version", CURRENT_VERSION + 1)
            .expect("insert");
        txn.commit().expect("commit");
        let err = run(&db).expect_err("newer schema");
        assert!(err.to_string().contains("newer than this rosterd"), "{err}");
    }
}
