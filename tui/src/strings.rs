//! Every sentence the TUI shows, in one place.

/// Title bar.
pub const TITLE: &str = "roster";
/// Above every screen but Mail (whose own notice says why) while invite
/// mail waits for the mail server.
pub const MAIL_PAUSED: &str = "Invite mail is paused: the mail server is unavailable (4: Mail says why). Invites are kept and go out once it answers.";
/// Shown while the event stream is down.
pub const DISCONNECTED: &str =
    "rosterd is not answering; reconnecting by itself (changes show when it is back)";
/// An empty list.
pub const NO_MEMBERS: &str =
    "No members match. Invite someone with `roster invite`, or press Esc to clear the search.";
/// The help overlay's title.
pub const HELP_TITLE: &str = "Keys (Esc or ? to close)";

/// How many members the Users screen lists: the daemon's total when it
/// knows it, else how many are loaded (`+` while more pages follow).
pub fn member_count(total: Option<u64>, loaded: usize, more: bool) -> String {
    match total {
        Some(1) => "1 member".to_string(),
        Some(n) => format!("{} members", thousands(n)),
        None if more => format!("{}+ found", thousands(loaded as u64)),
        None => format!("{} found", thousands(loaded as u64)),
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// While the link of `email` is fetched.
pub fn fetching_link(email: &str) -> String {
    format!("fetching the invite link of {email}…")
}

/// After the link went to the clipboard.
pub fn copied(email: &str) -> String {
    format!("copied {email}'s invite link (OSC 52); it is also below:")
}

/// The offer to start a daemon when none answers on the local socket.
pub fn offer_start(socket: &std::path::Path, data_dir: &std::path::Path) -> String {
    format!(
        "No rosterd answers on {}.\nStart one now with the embedded defaults (data in {}, web on http://127.0.0.1:8080)? [Y/n] ",
        socket.display(),
        data_dir.display()
    )
}

/// After a daemon was started for the admin.
pub fn started(log: &std::path::Path) -> String {
    format!(
        "rosterd is running (log: {}); it keeps running after you quit the TUI.",
        log.display()
    )
}

/// After an invite from the form.
pub fn invited(email: &str) -> String {
    format!("invited {email}; the invite mail is on its way")
}

/// The Invite form's title and hint.
pub const INVITE_TITLE: &str = "Invite someone";
/// Keys of the form when it edits a member.
pub const EDIT_HINT: &str =
    "Enter save · Tab next · Space/←→ choose · ↓ new row · ^T hide · Esc cancel";
/// Keys of the Invite form.
pub const INVITE_HINT: &str =
    "Enter invite · Tab next · Space/←→ choose · ↓ new row · ^T hide · Esc cancel";

/// Before revoking a member's link.
pub fn confirm_reset(email: &str) -> String {
    format!(
        "Revoke the invite link of {email} and issue a new one? The old link stops working. [y/N]"
    )
}

/// Before archiving a member.
pub fn confirm_archive(email: &str) -> String {
    format!("Archive {email}? Their access ends and any open invite link is revoked. [y/N]")
}

/// Before removing a member.
pub fn confirm_remove(email: &str) -> String {
    format!("Remove {email} from this workspace for good? [y/N]")
}

/// After a member action succeeded.
pub fn member_done(action: &str, email: &str) -> String {
    format!("{action} {email}")
}

/// Before deleting a custom group.
pub fn confirm_delete_group(name: &str) -> String {
    format!("Delete group \"{name}\"? Members stay; they just leave the group. [y/N]")
}

/// Before revoking a SCIM token.
pub fn confirm_revoke(name: &str) -> String {
    format!("Revoke SCIM token \"{name}\"? The identity provider using it stops at once. [y/N]")
}

/// After an edit was saved.
pub fn saved(email: &str) -> String {
    format!("saved {email}")
}

/// The title of the form when it edits a member.
pub fn edit_title(email: &str) -> String {
    format!("Edit {email}")
}

/// After a token's secret went to the clipboard.
pub fn copied_secret(name: &str) -> String {
    format!("copied the secret of SCIM token {name} (OSC 52)")
}

/// Above a new token's secret.
pub fn secret_intro(name: &str) -> String {
    format!(
        "SCIM token \"{name}\" created. Give this secret to the identity provider now; it is not shown again:"
    )
}

/// Keys under a shown secret.
pub const SECRET_HINT: &str = "y copy to clipboard · Esc close";

#[cfg(test)]
mod tests {
    #[test]
    fn member_counts_read_as_people_write_them() {
        assert_eq!(
            super::member_count(Some(1_234_567), 50, true),
            "1,234,567 members"
        );
        assert_eq!(super::member_count(Some(1), 1, false), "1 member");
        assert_eq!(super::member_count(Some(999), 50, true), "999 members");
        assert_eq!(super::member_count(None, 200, true), "200+ found");
        assert_eq!(super::member_count(None, 3, false), "3 found");
    }
}
