-- A mailbox disabled after repeated bounces comes back (see the SQLite 0006).
ALTER TABLE mailboxes ADD COLUMN disabled_at BIGINT;
ALTER TABLE mailboxes ADD COLUMN bounces_counted_since BIGINT;
ALTER TABLE email_logs ADD COLUMN bounce_permanent BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX aliases_trashed ON aliases(trashed_at) WHERE trashed_at IS NOT NULL;
