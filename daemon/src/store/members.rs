//! Membership records and every index over them, kept in step in one place.

use std::collections::BTreeSet;
use std::ops::Bound;

use redb::ReadableTable;
use uuid::Uuid;

use super::fold::fold;
use super::memberships;
use super::records::{MemberRecord, decode, encode_compact, version_of};
use super::tables::Tx;
use crate::error::ServiceError;

/// Words a member can be found by, besides the e-mail index itself (which
/// finds any prefix of the address): each word of the name, the e-mail's
/// domain, and the pieces of a local part with separators (`ada.lovelace` →
/// `lovelace`). Every entry is one insert at a random place of a large index
/// per invite, so a word is left out when a prefix search finds the member
/// without it: when the address starts with it (`ada` for `ada.lovelace@`)
/// or another word starts with it (`lovelace` beside `lovelace2`). Words
/// are folded ([`fold`]: `Łukasiewicz` → `lukasiewicz`), as queries are; the
/// e-mail index holds addresses as they are, so a folded word that differs
/// from the address's start is never left out for it.
pub fn search_words(name: &str, email: &str) -> BTreeSet<String> {
    without_covered(all_search_words(name, email), email)
}

/// `words` without those a prefix search finds the member by anyway (see
/// [`search_words`]).
fn without_covered(mut words: BTreeSet<String>, email: &str) -> BTreeSet<String> {
    let email = roster_shared::Email::key_of(email);
    let covered: Vec<String> = words
        .iter()
        .filter(|w| {
            email.starts_with(w.as_str())
                || words
                    .range::<str, _>((Bound::Excluded(w.as_str()), Bound::Unbounded))
                    .next()
                    .is_some_and(|next| next.starts_with(w.as_str()))
        })
        .cloned()
        .collect();
    for w in covered {
        words.remove(&w);
    }
    words
}

/// Every word [`search_words`] starts from, before leaving out the covered
/// ones: what an index written by earlier versions may still hold for a member.
fn all_search_words(name: &str, email: &str) -> BTreeSet<String> {
    words_in(name, email, fold)
}

/// The words of a name and an address, each put in search form by `form`.
fn words_in(name: &str, email: &str, form: fn(&str) -> String) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let name = form(name);
    words.extend(
        name.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
    );
    let key = roster_shared::Email::key_of(email);
    let email = form(&key);
    // The e-mail index finds the first piece of the local part, unless its
    // search form differs from the address as stored.
    let first_found = usize::from(email == key);
    if let Some((local, domain)) = email.split_once('@') {
        words.insert(domain.to_string());
        words.extend(
            local
                .split(['.', '_', '-', '+'])
                .skip(first_found)
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        );
    }
    words
}

/// For a member whose words change with folding (a name or address with
/// accents): the words an index written before words were folded may hold
/// that it must no longer, and the words it must hold. `None` when folding
/// changes none of them.
pub fn refolded_words(m: &MemberRecord) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let before = words_in(&m.name, &m.email, str::to_lowercase);
    let all_now = all_search_words(&m.name, &m.email);
    if before == all_now {
        return None;
    }
    let now = without_covered(all_now, &m.email);
    let stale = before.difference(&now).cloned().collect();
    Some((stale, now))
}

/// The keys of a member's SCIM `emails` values other than its own
/// address, which `member_emails` finds already.
pub fn other_email_keys(m: &MemberRecord) -> BTreeSet<String> {
    let Some(profile) = m.scim.as_ref().filter(|p| !p.emails.is_empty()) else {
        return BTreeSet::new();
    };
    let own = m.email_key();
    profile
        .emails
        .iter()
        .map(|e| roster_shared::Email::key_of(&e.value))
        .filter(|k| *k != own)
        .collect()
}

/// The members whose address or SCIM `emails` values include `value`
/// (case-insensitively), in creation order.
pub fn ids_holding_email<E, V>(
    emails: &E,
    values: &V,
    workspace: Uuid,
    value: &str,
) -> Result<BTreeSet<u128>, ServiceError>
where
    E: for<'a> ReadableTable<(u128, &'static str), u128>,
    V: for<'a> ReadableTable<(u128, &'static str, u128), ()>,
{
    let key = roster_shared::Email::key_of(value);
    let w = workspace.as_u128();
    let mut ids: BTreeSet<u128> = id_by_email(emails, workspace, &key)?.into_iter().collect();
    for entry in values.range((w, key.as_str(), 0)..=(w, key.as_str(), u128::MAX))? {
        ids.insert(entry?.0.value().2);
    }
    Ok(ids)
}

/// Reads one member by id.
pub fn get<T>(members: &T, workspace: Uuid, id: u128) -> Result<Option<MemberRecord>, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    members
        .get((workspace.as_u128(), id))?
        .map(|v| decode(v.value()))
        .transpose()
}

/// A member with the version of its stored bytes.
pub fn get_versioned<T>(
    members: &T,
    workspace: Uuid,
    id: u128,
) -> Result<Option<(MemberRecord, String)>, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    members
        .get((workspace.as_u128(), id))?
        .map(|v| Ok((decode(v.value())?, version_of(v.value()))))
        .transpose()
}

/// Finds a member's id by e-mail key.
pub fn id_by_email<T>(
    emails: &T,
    workspace: Uuid,
    email_key: &str,
) -> Result<Option<u128>, ServiceError>
where
    T: for<'a> ReadableTable<(u128, &'static str), u128>,
{
    Ok(emails
        .get((workspace.as_u128(), email_key))?
        .map(|v| v.value()))
}

/// Writes a member and brings every index and counter in line with it.
/// `old` is the record as it was (None for a new member).
pub fn put(
    tx: &Tx<'_>,
    old: Option<&MemberRecord>,
    new: &MemberRecord,
) -> Result<(), ServiceError> {
    if let Some(old) = old {
        unindex(tx, old, Some(new))?;
    }
    index(tx, new, old)?;
    tx.members()?.insert(
        (new.workspace.as_u128(), new.id.as_u128()),
        encode_compact(new)?.as_slice(),
    )?;
    Ok(())
}

/// Removes a member and all its index entries, and counts the removal.
pub fn delete(tx: &Tx<'_>, old: &MemberRecord) -> Result<(), ServiceError> {
    unindex(tx, old, None)?;
    let w = old.workspace.as_u128();
    tx.members()?.remove((w, old.id.as_u128()))?;
    let mut table = tx.member_removals()?;
    let before = removals(&*table, old.workspace)?;
    table.insert(w, before + 1)?;
    Ok(())
}

/// How many members of a workspace have ever been removed.
pub fn removals<T>(table: &T, workspace: Uuid) -> Result<u64, ServiceError>
where
    T: ReadableTable<u128, u64>,
{
    Ok(table
        .get(workspace.as_u128())?
        .map(|v| v.value())
        .unwrap_or(0))
}

fn index(tx: &Tx<'_>, m: &MemberRecord, old: Option<&MemberRecord>) -> Result<(), ServiceError> {
    let ws = m.workspace.as_u128();
    let id = m.id.as_u128();
    let same = |f: &dyn Fn(&MemberRecord) -> bool| old.is_some_and(f);
    if !same(&|o| o.email_key() == m.email_key()) {
        tx.member_emails()?
            .insert((ws, m.email_key().as_str()), id)?;
    }
    if !same(&|o| o.status == m.status && o.role == m.role) {
        add_count(tx, ws, m.status.code(), m.role.code(), 1)?;
    }
    if let Some(ext) = &m.external_id
        && !same(&|o| o.external_id.as_ref() == Some(ext))
    {
        tx.member_external_ids()?.insert((ws, ext.as_str()), id)?;
    }
    if let Some(inv) = &m.invitation
        && !same(&|o| o.invitation.as_ref().map(|i| i.id) == Some(inv.id))
    {
        // Read only when a link is followed, never by the write that
        // makes it: written aside.
        let link = inv.id.as_u128();
        tx.aside(move |tx| Ok(tx.invitations()?.insert(link, (ws, id)).map(drop)?))?;
    }
    let old_values = old.map(other_email_keys).unwrap_or_default();
    for key in other_email_keys(m).difference(&old_values) {
        tx.member_email_values()?
            .insert((ws, key.as_str(), id), ())?;
    }
    let listing = ListingEntries::not_shared(m, old, search_words);
    if !listing.is_empty() {
        tx.aside(move |tx| listing.insert(tx, ws, id))?;
    }
    Ok(())
}

/// Removes the entries of `m` that `new` (if any) does not share.
fn unindex(tx: &Tx<'_>, m: &MemberRecord, new: Option<&MemberRecord>) -> Result<(), ServiceError> {
    let ws = m.workspace.as_u128();
    let id = m.id.as_u128();
    let kept = |f: &dyn Fn(&MemberRecord) -> bool| new.is_some_and(f);
    if !kept(&|n| n.email_key() == m.email_key()) {
        tx.member_emails()?.remove((ws, m.email_key().as_str()))?;
    }
    if !kept(&|n| n.status == m.status && n.role == m.role) {
        add_count(tx, ws, m.status.code(), m.role.code(), -1)?;
    }
    if let Some(ext) = &m.external_id
        && !kept(&|n| n.external_id.as_ref() == Some(ext))
    {
        tx.member_external_ids()?.remove((ws, ext.as_str()))?;
    }
    if let Some(inv) = &m.invitation
        && !kept(&|n| n.invitation.as_ref().map(|i| i.id) == Some(inv.id))
    {
        let link = inv.id.as_u128();
        tx.aside(move |tx| Ok(tx.invitations()?.remove(link).map(drop)?))?;
    }
    let kept_values = new.map(other_email_keys).unwrap_or_default();
    for key in other_email_keys(m).difference(&kept_values) {
        tx.member_email_values()?.remove((ws, key.as_str(), id))?;
    }
    // Every word, not only the kept ones: an index written by an earlier
    // version holds the covered words too.
    let listing = ListingEntries::not_shared(m, new, all_search_words);
    if !listing.is_empty() {
        tx.aside(move |tx| listing.remove(tx, ws, id))?;
    }
    Ok(())
}

/// One member's entries in the indexes that only listings and searches
/// read, which the write itself never looks at: they can be written aside
/// ([`Tx::aside`]).
struct ListingEntries {
    /// Stored status and name key.
    status_name: Option<(u8, String)>,
    status: Option<u8>,
    role: Option<u8>,
    groups: Vec<u128>,
    words: Vec<String>,
}

impl ListingEntries {
    /// The entries of `m` that `other` (the member before or after the
    /// change, if any) does not share; `words_of` gives `m`'s words.
    fn not_shared(
        m: &MemberRecord,
        other: Option<&MemberRecord>,
        words_of: fn(&str, &str) -> BTreeSet<String>,
    ) -> Self {
        let shared = |f: &dyn Fn(&MemberRecord) -> bool| other.is_some_and(f);
        let name_key = m.name_key();
        let words = if shared(&|o| o.name == m.name && o.email == m.email) {
            Vec::new()
        } else {
            let other_words = other
                .map(|o| search_words(&o.name, &o.email))
                .unwrap_or_default();
            words_of(&m.name, &m.email)
                .difference(&other_words)
                .cloned()
                .collect()
        };
        let name_shared = shared(&|o| o.name_key() == name_key && o.status == m.status);
        Self {
            status_name: (!name_shared).then_some((m.status.code(), name_key)),
            status: (!shared(&|o| o.status == m.status)).then_some(m.status.code()),
            role: (!shared(&|o| o.role == m.role)).then_some(m.role.code()),
            groups: m
                .groups
                .iter()
                .filter(|g| !shared(&|o| o.groups.contains(g)))
                .map(|g| g.as_u128())
                .collect(),
            words,
        }
    }

    fn is_empty(&self) -> bool {
        self.status_name.is_none()
            && self.status.is_none()
            && self.role.is_none()
            && self.groups.is_empty()
            && self.words.is_empty()
    }

    fn insert(self, tx: &Tx<'_>, ws: u128, id: u128) -> Result<(), ServiceError> {
        if let Some((status, name_key)) = &self.status_name {
            tx.member_status_names()?
                .insert((ws, *status, name_key.as_str(), id), ())?;
        }
        if let Some(status) = self.status {
            tx.member_statuses()?.insert((ws, status, id), ())?;
        }
        if let Some(role) = self.role {
            tx.member_roles()?.insert((ws, role, id), ())?;
        }
        for g in self.groups {
            if tx.member_groups()?.insert((ws, g, id), ())?.is_none() {
                memberships::record(tx, ws, g, id, true)?;
            }
        }
        if let Some(held) = tx.deferred_words() {
            held.hold(ws, id, self.words);
            return Ok(());
        }
        for w in &self.words {
            tx.member_words()?.insert((ws, w.as_str(), id), ())?;
        }
        Ok(())
    }

    fn remove(self, tx: &Tx<'_>, ws: u128, id: u128) -> Result<(), ServiceError> {
        if let Some((status, name_key)) = &self.status_name {
            tx.member_status_names()?
                .remove((ws, *status, name_key.as_str(), id))?;
        }
        if let Some(status) = self.status {
            tx.member_statuses()?.remove((ws, status, id))?;
        }
        if let Some(role) = self.role {
            tx.member_roles()?.remove((ws, role, id))?;
        }
        for g in self.groups {
            if tx.member_groups()?.remove((ws, g, id))?.is_some() {
                memberships::record(tx, ws, g, id, false)?;
            }
        }
        for w in &self.words {
            tx.member_words()?.remove((ws, w.as_str(), id))?;
        }
        Ok(())
    }
}

fn add_count(tx: &Tx<'_>, ws: u128, status: u8, role: u8, delta: i64) -> Result<(), ServiceError> {
    let mut counts = tx.member_counts()?;
    let current = counts
        .get((ws, status, role))?
        .map(|v| v.value())
        .unwrap_or(0);
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        counts.remove((ws, status, role))?;
    } else {
        counts.insert((ws, status, role), next)?;
    }
    Ok(())
}

/// How many members of a workspace have this stored status and role.
pub fn count<T>(
    counts: &T,
    workspace: Uuid,
    status: roster_shared::StoredStatus,
    role: roster_shared::Role,
) -> Result<u64, ServiceError>
where
    T: ReadableTable<(u128, u8, u8), u64>,
{
    Ok(counts
        .get((workspace.as_u128(), status.code(), role.code()))?
        .map(|v| v.value())
        .unwrap_or(0))
}

/// The ids of a group's members, in id order.
pub fn group_member_ids<T>(
    links: &T,
    workspace: Uuid,
    group: Uuid,
) -> Result<Vec<u128>, ServiceError>
where
    T: ReadableTable<(u128, u128, u128), ()>,
{
    first_group_members(links, workspace, group, usize::MAX)
}

/// The first `n` members of a group, in id order.
pub fn first_group_members<T>(
    links: &T,
    workspace: Uuid,
    group: Uuid,
    n: usize,
) -> Result<Vec<u128>, ServiceError>
where
    T: ReadableTable<(u128, u128, u128), ()>,
{
    let (w, g) = (workspace.as_u128(), group.as_u128());
    links
        .range((w, g, 0)..=(w, g, u128::MAX))?
        .take(n)
        .map(|e| e.map(|(k, _)| k.value().2).map_err(ServiceError::from))
        .collect()
}

/// How many members leave a deleted group in one write: the writer serves
/// other requests between such writes (emptying a group of 100,000 in one
/// held it for over two seconds).
pub const LEAVING_PER_WRITE: usize = 2_000;

/// The members that leave a group being deleted in this write, and whether
/// they are its last (then this write deletes the group too).
pub fn next_leaving(
    tx: &Tx<'_>,
    workspace: Uuid,
    group: Uuid,
) -> Result<(Vec<u128>, bool), ServiceError> {
    let links = tx.member_groups()?;
    let mut leaving = first_group_members(&*links, workspace, group, LEAVING_PER_WRITE + 1)?;
    let last = leaving.len() <= LEAVING_PER_WRITE;
    leaving.truncate(LEAVING_PER_WRITE);
    Ok((leaving, last))
}

/// Members of a workspace in every status and role.
pub fn count_all<T>(counts: &T, workspace: Uuid) -> Result<u64, ServiceError>
where
    T: ReadableTable<(u128, u8, u8), u64>,
{
    count_matching(counts, workspace, None, None)
}

/// Members of a workspace with a stored status and a role (any, for
/// `None`), from the counts table: a dozen entries at most, however many
/// members.
pub fn count_matching<T>(
    counts: &T,
    workspace: Uuid,
    status: Option<u8>,
    role: Option<u8>,
) -> Result<u64, ServiceError>
where
    T: ReadableTable<(u128, u8, u8), u64>,
{
    let w = workspace.as_u128();
    let mut total = 0;
    for entry in counts.range((w, 0, 0)..=(w, u8::MAX, u8::MAX))? {
        let (key, count) = entry?;
        let (_, s, r) = key.value();
        if status.is_none_or(|want| want == s) && role.is_none_or(|want| want == r) {
            total += count.value();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_memberships_follow_every_join_and_leave() {
        use super::super::memberships::{self, Membership};
        use super::super::tables::{GROUP_MEMBERSHIPS, MEMBER_GROUPS, with_side_thread};
        use redb::ReadableDatabase;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = redb::Database::create(dir.path().join("db")).expect("db");
        let (g1, g2) = (Uuid::from_u128(501), Uuid::from_u128(502));
        let base = crate::store::records::tests::member();
        let ws = base.workspace;
        let people: Vec<MemberRecord> = (0..40u128)
            .map(|i| {
                let mut m = base.clone();
                m.id = Uuid::from_u128(1000 + i);
                m.email = format!("m{i}@example.com");
                m.groups = match i % 3 {
                    0 => vec![g1],
                    1 => vec![g1, g2],
                    _ => Vec::new(),
                };
                m
            })
            .collect();
        // Added as the importer adds them: group entries on a side thread.
        let txn = db.begin_write().expect("txn");
        with_side_thread(&txn, None, |tx| {
            people.iter().try_for_each(|m| put(tx, None, m))
        })
        .expect("import");
        txn.commit().expect("commit");
        // Changed and removed as the writer does, one by one.
        let txn = db.begin_write().expect("txn");
        {
            let tx = Tx::new(&txn);
            for m in &people[..20] {
                let mut after = m.clone();
                after.groups = if m.groups.contains(&g2) {
                    Vec::new()
                } else {
                    vec![g2, g1]
                };
                put(&tx, Some(m), &after).expect("change");
            }
            for m in &people[35..] {
                delete(&tx, m).expect("delete");
            }
        }
        txn.commit().expect("commit");
        let read = db.begin_read().expect("read");
        let links = read.open_table(MEMBER_GROUPS).expect("links");
        let sizes = read.open_table(GROUP_MEMBERSHIPS).expect("sizes");
        for g in [g1, g2] {
            let ids = group_member_ids(&links, ws, g).expect("ids");
            assert!(ids.len() > 10, "{} members", ids.len());
            let kept = memberships::get(&sizes, ws.as_u128(), g.as_u128()).expect("get");
            assert_eq!(kept, Membership::of(ids), "group {g}");
        }
    }

    #[test]
    fn words_are_folded_and_an_address_that_folds_differently_keeps_its_first_piece() {
        let w = search_words("Zoë Ångström-Łukasiewicz", "zoe@example.com");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["angstrom", "example.com", "lukasiewicz"],
            "`zoe` is left out: the address starts with it"
        );
        let w = search_words("Łukasz Nowak", "łukasz.nowak@example.pl");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["example.pl", "lukasz", "nowak"],
            "the address starts with `łukasz`, not with `lukasz`"
        );
    }

    #[test]
    fn only_members_with_accents_are_refolded() {
        let mut m = crate::store::records::tests::member();
        m.name = "Ada Lovelace".into();
        m.email = "ada@example.com".into();
        assert_eq!(refolded_words(&m), None);
        m.name = "Zoë Ångström".into();
        m.email = "zoe@example.com".into();
        let (stale, now) = refolded_words(&m).expect("accents fold");
        assert_eq!(stale.into_iter().collect::<Vec<_>>(), ["zoë", "ångström"]);
        assert_eq!(
            now.into_iter().collect::<Vec<_>>(),
            ["angstrom", "example.com"]
        );
    }

    #[test]
    fn words_cover_name_and_email_parts() {
        let w = search_words("Ada King-Lovelace", "Ada.Lovelace+x@Example.com");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["example.com", "king", "lovelace", "x"],
            "`ada` is left out: the address starts with it"
        );
    }

    #[test]
    fn a_word_another_word_starts_with_is_left_out() {
        let w = search_words("Ada Lovelace", "ada.lovelace2@example.com");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["example.com", "lovelace2"]
        );
        let w = search_words("Grace Hopper", "g.hopper@navy.mil");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["grace", "hopper", "navy.mil"],
            "`g.hopper` does not start with `grace`"
        );
    }

    #[test]
    fn every_prefix_of_a_left_out_word_still_finds_the_member() {
        for (name, email) in [
            ("Ada King-Lovelace", "Ada.Lovelace+x@Example.com"),
            ("Ada Lovelace", "ada.lovelace2@example.com"),
            ("Li Li", "li@li.cn"),
            ("Émile Zola Zol", "e.zola@ex.fr"),
        ] {
            let kept = search_words(name, email);
            let key = roster_shared::Email::key_of(email);
            for word in all_search_words(name, email) {
                for end in 1..=word.len() {
                    let Some(prefix) = word.get(..end) else {
                        continue;
                    };
                    assert!(
                        key.starts_with(prefix) || kept.iter().any(|k| k.starts_with(prefix)),
                        "{prefix:?} no longer finds {name} <{email}> (kept {kept:?})"
                    );
                }
            }
        }
    }
}
