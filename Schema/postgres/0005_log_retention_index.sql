-- Retention deletes email logs and notifications older than a cutoff in batches.
CREATE INDEX email_logs_created ON email_logs(created_at);
CREATE INDEX notifications_created ON notifications(created_at);
