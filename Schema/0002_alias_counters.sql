-- Migration 2: per-alias counters and latest activity, kept exact by triggers so that the alias
-- list costs the same with 10 or 10 million email logs. Existing logs are counted in place.

ALTER TABLE aliases ADD COLUMN nb_forward INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN nb_block INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN nb_reply INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN latest_email_log_id INTEGER;
-- max(created_at, time of latest activity): the default order of the alias list.
ALTER TABLE aliases ADD COLUMN last_activity_at INTEGER;
ALTER TABLE contacts ADD COLUMN last_email_sent_at INTEGER;

UPDATE aliases SET
    nb_forward = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND l.is_reply = 0 AND l.blocked = 0),
    nb_block   = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND l.is_reply = 0 AND l.blocked = 1),
    nb_reply   = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND l.is_reply = 1),
    latest_email_log_id = (SELECT max(l.id) FROM email_logs l WHERE l.alias_id = aliases.id),
    last_activity_at = max(created_at, coalesce((SELECT max(l.created_at) FROM email_logs l WHERE l.alias_id = aliases.id), 0));

UPDATE contacts SET last_email_sent_at =
    (SELECT max(l.created_at) FROM email_logs l WHERE l.contact_id = contacts.id AND l.is_reply = 1);

CREATE INDEX aliases_user_order ON aliases(user_id, pinned DESC, last_activity_at DESC, id DESC);

CREATE TRIGGER aliases_set_last_activity AFTER INSERT ON aliases
WHEN NEW.last_activity_at IS NULL
BEGIN
    UPDATE aliases SET last_activity_at = NEW.created_at WHERE id = NEW.id;
END;

CREATE TRIGGER email_logs_count_insert AFTER INSERT ON email_logs
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward + (NEW.is_reply = 0 AND NEW.blocked = 0),
        nb_block   = nb_block   + (NEW.is_reply = 0 AND NEW.blocked = 1),
        nb_reply   = nb_reply   + (NEW.is_reply = 1),
        latest_email_log_id = max(coalesce(latest_email_log_id, 0), NEW.id),
        last_activity_at = max(coalesce(last_activity_at, 0), NEW.created_at)
    WHERE id = NEW.alias_id;
    UPDATE contacts SET last_email_sent_at = max(coalesce(last_email_sent_at, 0), NEW.created_at)
    WHERE NEW.is_reply = 1 AND id = NEW.contact_id;
END;

CREATE TRIGGER email_logs_count_delete AFTER DELETE ON email_logs
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward - (OLD.is_reply = 0 AND OLD.blocked = 0),
        nb_block   = nb_block   - (OLD.is_reply = 0 AND OLD.blocked = 1),
        nb_reply   = nb_reply   - (OLD.is_reply = 1),
        latest_email_log_id = CASE WHEN latest_email_log_id = OLD.id
            THEN (SELECT max(l.id) FROM email_logs l WHERE l.alias_id = OLD.alias_id)
            ELSE latest_email_log_id END
    WHERE id = OLD.alias_id;
    UPDATE contacts SET last_email_sent_at =
        (SELECT max(l.created_at) FROM email_logs l WHERE l.contact_id = OLD.contact_id AND l.is_reply = 1)
    WHERE OLD.is_reply = 1 AND id = OLD.contact_id;
END;

CREATE TRIGGER email_logs_count_update AFTER UPDATE OF is_reply, blocked ON email_logs
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward - (OLD.is_reply = 0 AND OLD.blocked = 0) + (NEW.is_reply = 0 AND NEW.blocked = 0),
        nb_block   = nb_block   - (OLD.is_reply = 0 AND OLD.blocked = 1) + (NEW.is_reply = 0 AND NEW.blocked = 1),
        nb_reply   = nb_reply   - (OLD.is_reply = 1) + (NEW.is_reply = 1)
    WHERE id = NEW.alias_id;
END;
