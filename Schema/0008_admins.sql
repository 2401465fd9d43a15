-- Users who see the dashboard's admin pages (`veil user create --admin`, `veil serve --admin-email`).
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
