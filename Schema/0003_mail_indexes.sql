-- The mail daemon's per-mailbox rate limit counts the copies forwarded to a mailbox in the last
-- minute; this index keeps that count independent of how many aliases and logs exist.
CREATE INDEX email_logs_mailbox_created ON email_logs(mailbox_id, created_at);
