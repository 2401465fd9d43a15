-- A mailbox disabled after repeated bounces comes back: when it was disabled (mail is deferred,
-- not refused, for a grace period), and from when its bounces count again after the owner
-- re-enabled it. Only permanent failures count towards disabling.
ALTER TABLE mailboxes ADD COLUMN disabled_at INTEGER;
ALTER TABLE mailboxes ADD COLUMN bounces_counted_since INTEGER;
ALTER TABLE email_logs ADD COLUMN bounce_permanent INTEGER NOT NULL DEFAULT 0;
-- Trashed aliases are purged after 30 days; the hourly purge finds them through this index.
CREATE INDEX aliases_trashed ON aliases(trashed_at) WHERE trashed_at IS NOT NULL;
