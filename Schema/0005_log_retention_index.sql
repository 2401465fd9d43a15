-- Retention (`veil prune`, hourly in `api`/`serve`) deletes email logs older than a cutoff in
-- batches; without this index each batch scanned the whole table even when nothing was old.
CREATE INDEX email_logs_created ON email_logs(created_at);
-- Notifications are pruned the same way.
CREATE INDEX notifications_created ON notifications(created_at);
