//! The invite mail: who invited whom to which workspace, the link, its expiry.

use html_escape::encode_text;
use time::OffsetDateTime;
use time::macros::format_description;

/// What an invite mail says.
pub struct InviteMail<'a> {
    pub invitee: &'a str,
    pub inviter: &'a str,
    pub workspace: &'a str,
    pub link: &'a str,
    pub expires_at: OffsetDateTime,
}

impl InviteMail<'_> {
    fn expiry(&self) -> String {
        let fmt = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        self.expires_at.format(&fmt).unwrap_or_default()
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        format!(
            "Hello {invitee},\n\n{inviter} invited you to join the workspace \"{workspace}\".\n\n\
             Accept the invitation by opening this link:\n\n    {link}\n\n\
             The link works once and expires on {expiry}.\n\
             If you did not expect this invitation you can ignore this mail.\n",
            invitee = self.invitee,
            inviter = self.inviter,
            workspace = self.workspace,
            link = self.link,
            expiry = self.expiry(),
        )
    }

    /// The HTML part (every value escaped).
    pub fn html(&self) -> String {
        format!(
            "<!doctype html>\n<html lang=\"en\"><body style=\"font-family: sans-serif\">\n\
             <p>Hello {invitee},</p>\n\
             <p>{inviter} invited you to join the workspace <strong>{workspace}</strong>.</p>\n\
             <p><a href=\"{link}\">Accept the invitation</a></p>\n\
             <p>Or copy this link into your browser: <br><code>{link}</code></p>\n\
             <p>The link works once and expires on {expiry}.</p>\n\
             </body></html>\n",
            invitee = encode_text(self.invitee),
            inviter = encode_text(self.inviter),
            workspace = encode_text(self.workspace),
            link = html_escape::encode_double_quoted_attribute(self.link),
            expiry = self.expiry(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_link_and_escape_names() {
        let mail = InviteMail {
            invitee: "Ada <script>",
            inviter: "Grace",
            workspace: "Nexus & Co",
            link: "http://x/invite/abc.def",
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(mail.text().contains("http://x/invite/abc.def"));
        assert!(mail.text().contains("1970-01-01 00:00 UTC"));
        let html = mail.html();
        assert!(html.contains("href=\"http://x/invite/abc.def\""));
        assert!(html.contains("Ada &lt;script&gt;"));
        assert!(html.contains("Nexus &amp; Co"));
    }
}
