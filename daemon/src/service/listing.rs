//! The member list: server-side paging, search, filters and sort.
//!
//! Every query walks one index in order and stops when the page is full, so
//! the cost of a page does not grow with the workspace: the sort decides the
//! index (name, e-mail or creation order), a status filter narrows it, and
//! a search walks the word index from the typed prefix.

use std::ops::Bound;

use redb::{AccessGuard, Key, ReadOnlyTable, ReadTransaction, Value};
use roster_shared::api::{
    DEFAULT_PAGE, ListMembersQuery, MAX_PAGE, MemberResponse, MemberSort, Page,
};
use roster_shared::{MemberStatus, Role, StatusModel, StoredStatus};
use uuid::Uuid;

use super::views::{self, GroupNames};
use super::{Services, workspaces};
use crate::error::ServiceError;
use crate::store::fold::fold;
use crate::store::keys::{self, cursor_id, decode_cursor, encode_cursor};
use crate::store::members::{self, search_words};
use crate::store::records::MemberRecord;
use crate::store::tables::*;

/// A parsed search: the index prefix and, for several words, the whole phrase.
struct Search {
    prefix: String,
    phrase: Option<String>,
}

/// What a member must be to be listed.
struct Filter {
    status: Option<StoredStatus>,
    activated: Option<bool>,
    role: Option<Role>,
    group: Option<Uuid>,
    search: Option<Search>,
    desc: bool,
}

impl Filter {
    fn keeps(&self, m: &MemberRecord, word: Option<&str>) -> bool {
        if self.status.is_some_and(|s| s != m.status)
            || self.role.is_some_and(|r| r != m.role)
            || self.group.is_some_and(|g| !m.groups.contains(&g))
        {
            return false;
        }
        let Some(search) = &self.search else {
            return true;
        };
        if let Some(phrase) = &search.phrase
            && !(fold(&m.name).contains(phrase.as_str())
                || fold(&m.email).contains(phrase.as_str()))
        {
            return false;
        }
        // The e-mail phase (no word) lists members whose address starts with
        // the prefix; the word phase lists the others once each, at the first
        // of their matching words in walking order.
        let Some(word) = word else { return true };
        if m.email_key().starts_with(&search.prefix) {
            return false;
        }
        let words = search_words(&m.name, &m.email);
        let mut matching = words.iter().filter(|w| w.starts_with(&search.prefix));
        let first = if self.desc {
            matching.next_back()
        } else {
            matching.next()
        };
        first.map(String::as_str) == Some(word)
    }
}

impl Services {
    /// `GET /api/v1/members`.
    pub async fn list_members(
        &self,
        q: ListMembersQuery,
    ) -> Result<Page<MemberResponse>, ServiceError> {
        let model = self.settings.status_model;
        let slug = self.workspace_slug(q.workspace.as_deref());
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ServiceError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let status = q
            .status
            .as_deref()
            .map(str::parse::<MemberStatus>)
            .transpose()?;
        let role = q.role.as_deref().map(Role::parse).transpose()?;
        let (stored, activated) = match status {
            Some(s) => {
                let (st, acc) = s.filter(model);
                (Some(st), acc)
            }
            None => (None, None),
        };
        let search =
            q.q.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let lower = fold(s);
                    match lower.split_whitespace().next() {
                        Some(first) if first.len() < lower.len() => Search {
                            prefix: first.to_string(),
                            phrase: Some(lower.clone()),
                        },
                        _ => Search {
                            prefix: lower,
                            phrase: None,
                        },
                    }
                });
        let page = PageRequest {
            slug,
            group_name: q.group.clone(),
            filter: Filter {
                status: stored,
                activated,
                role,
                group: None,
                search,
                desc: q.desc.unwrap_or(false),
            },
            sort: q.sort.unwrap_or_default(),
            reveal: q.reveal.unwrap_or(false),
            cursor: q.cursor.clone(),
            limit,
            model,
        };
        if page.is_bounded() {
            self.store.read_now(|txn| page.read(txn))
        } else {
            self.store.read(move |txn| page.read(txn)).await
        }
    }
}

/// Most record reads a page may cost to be served on the calling thread.
const MAX_INLINE_PAGE: usize = 2 * DEFAULT_PAGE;

/// One page as asked for: its filter's group is still a name, resolved in
/// the read transaction.
struct PageRequest {
    slug: String,
    group_name: Option<String>,
    filter: Filter,
    sort: MemberSort,
    reveal: bool,
    cursor: Option<String>,
    limit: usize,
    model: StatusModel,
}

impl PageRequest {
    /// Whether the index walk keeps every entry it visits, so the page costs
    /// at most `limit` record reads. Such a page is cheaper served on the
    /// calling thread than handed to the blocking pool (a third more pages
    /// per second); a walk that may skip entries (a search, or a filter the
    /// walked index does not cover) could visit a whole workspace and must
    /// not hold up an async worker.
    fn is_bounded(&self) -> bool {
        let f = &self.filter;
        let (status, role, group) = (
            f.status.is_some(),
            f.role.is_some(),
            self.group_name.is_some(),
        );
        let covered = match self.sort {
            MemberSort::Name => !role && !group,
            MemberSort::Email => !status && !role && !group,
            MemberSort::Created => [status, role, group].iter().filter(|f| **f).count() <= 1,
        };
        covered && f.search.is_none() && f.activated.is_none() && self.limit <= MAX_INLINE_PAGE
    }

    fn read(mut self, txn: &ReadTransaction) -> Result<Page<MemberResponse>, ServiceError> {
        let model = self.model;
        let ws = workspaces::find_read(txn, &self.slug)?;
        self.filter.group = match &self.group_name {
            Some(g) => Some(find_group_id(txn, ws.id, g).ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "group \"{}\" does not exist in workspace {}",
                    g.trim(),
                    ws.slug
                ))
            })?),
            None => None,
        };
        let page = walk(
            txn,
            ws.id,
            &self.filter,
            self.sort,
            self.cursor.as_deref(),
            self.limit,
            model,
        )?;
        let groups_t = txn.open_table(GROUPS)?;
        let accounts = txn.open_table(ACCOUNTS)?;
        let mut names = GroupNames::new(&groups_t, ws.id);
        let mut items = Vec::with_capacity(page.members.len());
        for (m, act) in &page.members {
            // Only the cloud model shows whether the account is activated;
            // the self-hosted one needs no account read.
            let act = match (act, model) {
                (Some(a), _) => *a,
                (None, StatusModel::SelfHosted) => false,
                (None, StatusModel::Cloud) => views::account_activated(&accounts, m.account)?,
            };
            items.push(views::member(
                m,
                act,
                names.names(&m.groups)?,
                model,
                self.reveal,
            ));
        }
        // The counts table knows the size of a listing by status and role;
        // a search, a group or the cloud model's activation split it further.
        let known = self.filter.search.is_none()
            && self.filter.group.is_none()
            && self.filter.activated.is_none();
        let total = if known {
            Some(members::count_matching(
                &txn.open_table(MEMBER_COUNTS)?,
                ws.id,
                self.filter.status.map(|s| s.code()),
                self.filter.role.map(|r| r.code()),
            )?)
        } else {
            None
        };
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            total,
        })
    }
}

fn find_group_id(txn: &ReadTransaction, ws: Uuid, name: &str) -> Option<Uuid> {
    let key = roster_shared::names::group_key(name);
    let t = txn.open_table(GROUP_NAMES).ok()?;
    let id = t.get((ws.as_u128(), key.as_str())).ok()??.value();
    Some(Uuid::from_u128(id))
}

struct Collected {
    members: Vec<(MemberRecord, Option<bool>)>,
    next_cursor: Option<String>,
}

/// Collects one page while an index is walked.
struct Pager<'t> {
    members_t: ReadOnlyTable<(u128, u128), &'static [u8]>,
    accounts_t: ReadOnlyTable<u128, &'static [u8]>,
    ws: Uuid,
    filter: &'t Filter,
    need_account: bool,
    limit: usize,
    found: Vec<(MemberRecord, Option<bool>)>,
    last_word: Option<String>,
}

impl Pager<'_> {
    /// Considers one index entry; false once the page is full.
    fn visit(&mut self, id: u128, word: Option<&str>) -> Result<bool, ServiceError> {
        let Some(m) = members::get(&self.members_t, self.ws, id)? else {
            return Ok(true);
        };
        if !self.filter.keeps(&m, word) {
            return Ok(true);
        }
        let activated = if self.need_account {
            Some(views::account_activated(&self.accounts_t, m.account)?)
        } else {
            None
        };
        if let (Some(want), Some(is)) = (self.filter.activated, activated)
            && want != is
        {
            return Ok(true);
        }
        self.found.push((m, activated));
        self.last_word = word.map(str::to_string);
        Ok(self.found.len() < self.limit)
    }
}

/// Walks `table` between two bounds, in either direction, until `each` says stop.
fn drive<'a, K, V, F>(
    table: &ReadOnlyTable<K, V>,
    lo: Bound<K::SelfType<'a>>,
    hi: Bound<K::SelfType<'a>>,
    desc: bool,
    mut each: F,
) -> Result<(), ServiceError>
where
    K: Key + 'static,
    V: Value + 'static,
    F: FnMut(AccessGuard<'_, K>, AccessGuard<'_, V>) -> Result<bool, ServiceError>,
{
    let range = table.range::<K::SelfType<'a>>((lo, hi))?;
    if desc {
        for entry in range.rev() {
            let (k, v) = entry?;
            if !each(k, v)? {
                break;
            }
        }
    } else {
        for entry in range {
            let (k, v) = entry?;
            if !each(k, v)? {
                break;
            }
        }
    }
    Ok(())
}

/// Bounds of a walk that resumes after `cursor` (exclusive) in its direction.
fn bounds<T>(lo: T, hi: Bound<T>, cursor: Option<T>, desc: bool) -> (Bound<T>, Bound<T>) {
    match (cursor, desc) {
        (Some(c), false) => (Bound::Excluded(c), hi),
        (Some(c), true) => (Bound::Included(lo), Bound::Excluded(c)),
        (None, _) => (Bound::Included(lo), hi),
    }
}

fn walk(
    txn: &ReadTransaction,
    ws: Uuid,
    filter: &Filter,
    sort: MemberSort,
    cursor: Option<&str>,
    limit: usize,
    model: StatusModel,
) -> Result<Collected, ServiceError> {
    let w = ws.as_u128();
    let mut pager = Pager {
        members_t: txn.open_table(MEMBERS)?,
        accounts_t: txn.open_table(ACCOUNTS)?,
        ws,
        filter,
        need_account: model == StatusModel::Cloud,
        limit,
        found: Vec::new(),
        last_word: None,
    };
    let desc = filter.desc;
    if let Some(search) = &filter.search {
        let next = search_walk(txn, w, search, cursor, &mut pager)?;
        return Ok(Collected {
            members: pager.found,
            next_cursor: next,
        });
    }
    match sort {
        MemberSort::Name => {
            let c = cursor.map(|c| decode_cursor(c, 2)).transpose()?;
            let c_id = c.as_ref().map(|c| cursor_id(&c[1])).transpose()?;
            let c_name = c.as_ref().map(|c| c[0].as_str());
            match filter.status {
                Some(s) => {
                    let s = s.code();
                    let (lo, hi) = bounds(
                        (w, s, "", 0),
                        Bound::Included((w, s, "\u{10FFFF}", u128::MAX)),
                        c_name.zip(c_id).map(|(n, id)| (w, s, n, id)),
                        desc,
                    );
                    drive(
                        &txn.open_table(MEMBER_STATUS_NAMES)?,
                        lo,
                        hi,
                        desc,
                        |k, _| pager.visit(k.value().3, None),
                    )?;
                }
                None => merge_statuses(txn, w, c_name.zip(c_id), desc, &mut pager)?,
            }
            let next = cursor_after(&pager, |m, _| vec![m.name_key(), m.id.to_string()]);
            Ok(Collected {
                members: pager.found,
                next_cursor: next,
            })
        }
        MemberSort::Email => {
            let c = cursor.map(|c| decode_cursor(c, 1)).transpose()?;
            let (lo, hi) = bounds(
                (w, ""),
                Bound::Included((w, "\u{10FFFF}")),
                c.as_ref().map(|c| (w, c[0].as_str())),
                desc,
            );
            drive(&txn.open_table(MEMBER_EMAILS)?, lo, hi, desc, |_, v| {
                pager.visit(v.value(), None)
            })?;
            let next = cursor_after(&pager, |m, _| vec![m.email_key()]);
            Ok(Collected {
                members: pager.found,
                next_cursor: next,
            })
        }
        MemberSort::Created => {
            let c_id = cursor
                .map(|c| decode_cursor(c, 1))
                .transpose()?
                .map(|c| cursor_id(&c[0]))
                .transpose()?;
            if let Some(s) = filter.status.map(StoredStatus::code) {
                let (lo, hi) = bounds(
                    (w, s, 0),
                    Bound::Included((w, s, u128::MAX)),
                    c_id.map(|id| (w, s, id)),
                    desc,
                );
                drive(&txn.open_table(MEMBER_STATUSES)?, lo, hi, desc, |k, _| {
                    pager.visit(k.value().2, None)
                })?;
            } else if let Some(r) = filter.role.map(Role::code) {
                let (lo, hi) = bounds(
                    (w, r, 0),
                    Bound::Included((w, r, u128::MAX)),
                    c_id.map(|id| (w, r, id)),
                    desc,
                );
                drive(&txn.open_table(MEMBER_ROLES)?, lo, hi, desc, |k, _| {
                    pager.visit(k.value().2, None)
                })?;
            } else if let Some(g) = filter.group.map(|g| g.as_u128()) {
                let (lo, hi) = bounds(
                    (w, g, 0),
                    Bound::Included((w, g, u128::MAX)),
                    c_id.map(|id| (w, g, id)),
                    desc,
                );
                drive(&txn.open_table(MEMBER_GROUPS)?, lo, hi, desc, |k, _| {
                    pager.visit(k.value().2, None)
                })?;
            } else {
                let (lo, hi) = bounds(
                    (w, 0),
                    Bound::Included((w, u128::MAX)),
                    c_id.map(|id| (w, id)),
                    desc,
                );
                drive(&txn.open_table(MEMBERS)?, lo, hi, desc, |k, _| {
                    pager.visit(k.value().1, None)
                })?;
            }
            let next = cursor_after(&pager, |m, _| vec![m.id.to_string()]);
            Ok(Collected {
                members: pager.found,
                next_cursor: next,
            })
        }
    }
}

/// A search walks two indexes as one list: members whose e-mail starts with
/// the prefix (the e-mail index), then those found by a word of their name,
/// domain or local part (the word index); descending, the other way round.
/// The cursor says which phase it stopped in.
fn search_walk(
    txn: &ReadTransaction,
    w: u128,
    search: &Search,
    cursor: Option<&str>,
    pager: &mut Pager<'_>,
) -> Result<Option<String>, ServiceError> {
    let desc = pager.filter.desc;
    let c = cursor.map(|c| decode_cursor(c, 3)).transpose()?;
    let in_words = c.as_ref().is_some_and(|c| c[0] == "w");
    let end = keys::prefix_end(&search.prefix);
    let emails_phase = |pager: &mut Pager<'_>, after: Option<&str>| -> Result<(), ServiceError> {
        let (lo, hi) = bounds(
            (w, search.prefix.as_str()),
            Bound::Excluded((w, end.as_str())),
            after.map(|e| (w, e)),
            desc,
        );
        drive(&txn.open_table(MEMBER_EMAILS)?, lo, hi, desc, |_, v| {
            pager.visit(v.value(), None)
        })
    };
    let words_phase =
        |pager: &mut Pager<'_>, after: Option<(&str, u128)>| -> Result<(), ServiceError> {
            let (lo, hi) = bounds(
                (w, search.prefix.as_str(), 0),
                Bound::Excluded((w, end.as_str(), 0)),
                after.map(|(word, id)| (w, word, id)),
                desc,
            );
            drive(&txn.open_table(MEMBER_WORDS)?, lo, hi, desc, |k, _| {
                let (_, word, id) = k.value();
                pager.visit(id, Some(word))
            })
        };
    let word_cursor = match (&c, in_words) {
        (Some(c), true) => Some((c[1].as_str(), cursor_id(&c[2])?)),
        _ => None,
    };
    let email_cursor = c.as_ref().filter(|_| !in_words).map(|c| c[1].as_str());
    if desc {
        // Words first (descending), then e-mails.
        if c.is_none() || in_words {
            words_phase(pager, word_cursor)?;
        }
        if pager.found.len() < pager.limit {
            emails_phase(pager, email_cursor)?;
        }
    } else {
        if !in_words {
            emails_phase(pager, email_cursor)?;
        }
        if pager.found.len() < pager.limit {
            words_phase(pager, word_cursor)?;
        }
    }
    Ok(cursor_after(pager, |m, word| match word {
        Some(word) => vec!["w".into(), word.to_string(), m.id.to_string()],
        None => vec!["e".into(), m.email_key(), String::new()],
    }))
}

/// One entry of the status-name index as redb yields it.
type NameEntry = Result<
    (
        AccessGuard<'static, (u128, u8, &'static str, u128)>,
        AccessGuard<'static, ()>,
    ),
    redb::StorageError,
>;

/// Name order across every status: the status-name index holds one sorted
/// run per status, so the unfiltered list merges the three runs instead of
/// keeping a separate name index (one random index insert fewer per invite).
fn merge_statuses(
    txn: &ReadTransaction,
    w: u128,
    after: Option<(&str, u128)>,
    desc: bool,
    pager: &mut Pager<'_>,
) -> Result<(), ServiceError> {
    type Run = Box<dyn Iterator<Item = Result<(String, u128), redb::StorageError>>>;
    let table = txn.open_table(MEMBER_STATUS_NAMES)?;
    let mut runs: Vec<Run> = Vec::new();
    for status in [
        StoredStatus::Pending,
        StoredStatus::Active,
        StoredStatus::Archived,
    ] {
        let s = status.code();
        let (lo, hi) = bounds(
            (w, s, "", 0),
            Bound::Included((w, s, "\u{10FFFF}", u128::MAX)),
            after.map(|(n, id)| (w, s, n, id)),
            desc,
        );
        let range = table.range::<(u128, u8, &str, u128)>((lo, hi))?;
        let key = |r: NameEntry| {
            r.map(|(k, _)| {
                let (_, _, name, id) = k.value();
                (name.to_string(), id)
            })
        };
        let run: Box<dyn Iterator<Item = _>> = if desc {
            Box::new(range.rev().map(key))
        } else {
            Box::new(range.map(key))
        };
        runs.push(run);
    }
    // The head of each run, taken out of it: compared in place, never copied.
    let mut heads = Vec::with_capacity(runs.len());
    for run in &mut runs {
        heads.push(run.next().transpose()?);
    }
    loop {
        let mut best: Option<(usize, &(String, u128))> = None;
        for (i, head) in heads.iter().enumerate() {
            let Some(head) = head else { continue };
            if best.is_none_or(|(_, b)| if desc { head > b } else { head < b }) {
                best = Some((i, head));
            }
        }
        let Some((i, &(_, id))) = best else {
            return Ok(());
        };
        heads[i] = runs[i].next().transpose()?;
        if !pager.visit(id, None)? {
            return Ok(());
        }
    }
}

/// The cursor after a full page (none after a short one: nothing follows).
fn cursor_after(
    p: &Pager<'_>,
    parts: impl Fn(&MemberRecord, Option<&str>) -> Vec<String>,
) -> Option<String> {
    if p.found.len() < p.limit {
        return None;
    }
    p.found
        .last()
        .map(|(m, _)| encode_cursor(&parts(m, p.last_word.as_deref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(sort: MemberSort) -> PageRequest {
        PageRequest {
            slug: "default".into(),
            group_name: None,
            filter: Filter {
                status: None,
                activated: None,
                role: None,
                group: None,
                search: None,
                desc: false,
            },
            sort,
            reveal: false,
            cursor: None,
            limit: DEFAULT_PAGE,
            model: StatusModel::SelfHosted,
        }
    }

    /// `request(sort)` changed by `edit`.
    fn with(sort: MemberSort, edit: impl FnOnce(&mut PageRequest)) -> PageRequest {
        let mut r = request(sort);
        edit(&mut r);
        r
    }

    #[test]
    fn only_walks_that_keep_every_entry_are_served_inline() {
        let plain = |sort| request(sort).is_bounded();
        assert!(plain(MemberSort::Name) && plain(MemberSort::Email) && plain(MemberSort::Created));

        let status = |sort| with(sort, |r| r.filter.status = Some(StoredStatus::Archived));
        assert!(status(MemberSort::Name).is_bounded(), "status-name index");
        assert!(status(MemberSort::Created).is_bounded(), "status index");
        assert!(
            !status(MemberSort::Email).is_bounded(),
            "e-mail index skips"
        );

        let role = |sort| with(sort, |r| r.filter.role = Some(Role::Admin));
        assert!(role(MemberSort::Created).is_bounded(), "role index");
        assert!(
            !role(MemberSort::Name).is_bounded(),
            "name order skips other roles"
        );
        let two_filters = PageRequest {
            group_name: Some("Sales".into()),
            ..role(MemberSort::Created)
        };
        assert!(!two_filters.is_bounded());

        let search = with(MemberSort::Name, |r| {
            r.filter.search = Some(Search {
                prefix: "ada".into(),
                phrase: None,
            });
        });
        assert!(!search.is_bounded(), "a search may skip most words");
        let mut cloud_active = status(MemberSort::Name);
        cloud_active.filter.activated = Some(true);
        assert!(!cloud_active.is_bounded(), "activation is not indexed");
        let big = PageRequest {
            limit: MAX_PAGE,
            ..request(MemberSort::Name)
        };
        assert!(!big.is_bounded(), "a long page goes to the blocking pool");
    }
}
