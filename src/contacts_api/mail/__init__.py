"""Outgoing mail: a durable outbox in the database and the background delivery of it.

Domains queue a mail (`queue_mail`) in the same transaction as whatever the mail announces;
`OutboxWorker` claims due mails and hands them to a `MailTransport` (SMTP through litestar-email,
or the log). The mail domain knows nothing of accounts: a mail is an address, a subject, bodies.
"""
