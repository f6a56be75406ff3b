"""An aiosmtpd handler for the end-to-end tests: a maildir that refuses
some recipients, as a real server refuses an unknown mailbox.

Recipients whose local part starts with ``refused`` get ``550 5.1.1`` at
RCPT TO, and such a sender gets ``553 5.1.8`` at MAIL FROM, as a server
refuses a sender domain it cannot verify; everyone else is delivered into
the maildir given as argument.
"""

from aiosmtpd.handlers import Mailbox


class RefusingMailbox(Mailbox):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.split("@")[0].lower().startswith("refused"):
            return f"553 5.1.8 <{address}>: Sender address rejected: Domain not found"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("refused"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"
