-- The mail daemon's per-mailbox rate limit counts the copies forwarded to a mailbox in the last minute.
CREATE INDEX email_logs_mailbox_created ON email_logs(mailbox_id, created_at);
