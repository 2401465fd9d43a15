-- Migration 2: per-alias counters and latest activity, kept exact by triggers in the writing
-- transaction (as SQLite's triggers do): an UPDATE takes the alias row's lock, so concurrent
-- writers on several nodes never lose an increment. Existing logs are counted in place.

ALTER TABLE aliases ADD COLUMN nb_forward BIGINT NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN nb_block BIGINT NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN nb_reply BIGINT NOT NULL DEFAULT 0;
ALTER TABLE aliases ADD COLUMN latest_email_log_id BIGINT;
ALTER TABLE aliases ADD COLUMN last_activity_at BIGINT;
ALTER TABLE contacts ADD COLUMN last_email_sent_at BIGINT;

UPDATE aliases SET
    nb_forward = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND NOT l.is_reply AND NOT l.blocked),
    nb_block   = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND NOT l.is_reply AND l.blocked),
    nb_reply   = (SELECT count(*) FROM email_logs l WHERE l.alias_id = aliases.id AND l.is_reply),
    latest_email_log_id = (SELECT max(l.id) FROM email_logs l WHERE l.alias_id = aliases.id),
    last_activity_at = greatest(created_at, coalesce((SELECT max(l.created_at) FROM email_logs l WHERE l.alias_id = aliases.id), 0));

UPDATE contacts SET last_email_sent_at =
    (SELECT max(l.created_at) FROM email_logs l WHERE l.contact_id = contacts.id AND l.is_reply);

CREATE INDEX aliases_user_order ON aliases(user_id, pinned DESC, last_activity_at DESC, id DESC);

CREATE FUNCTION aliases_set_last_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.last_activity_at IS NULL THEN
        NEW.last_activity_at := NEW.created_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER aliases_set_last_activity BEFORE INSERT ON aliases
FOR EACH ROW EXECUTE FUNCTION aliases_set_last_activity();

CREATE FUNCTION email_logs_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward + (NOT NEW.is_reply AND NOT NEW.blocked)::int,
        nb_block   = nb_block   + (NOT NEW.is_reply AND NEW.blocked)::int,
        nb_reply   = nb_reply   + NEW.is_reply::int,
        latest_email_log_id = greatest(coalesce(latest_email_log_id, 0), NEW.id),
        last_activity_at = greatest(coalesce(last_activity_at, 0), NEW.created_at)
    WHERE id = NEW.alias_id;
    IF NEW.is_reply THEN
        UPDATE contacts SET last_email_sent_at = greatest(coalesce(last_email_sent_at, 0), NEW.created_at)
        WHERE id = NEW.contact_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER email_logs_count_insert AFTER INSERT ON email_logs
FOR EACH ROW EXECUTE FUNCTION email_logs_count_insert();

CREATE FUNCTION email_logs_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward - (NOT OLD.is_reply AND NOT OLD.blocked)::int,
        nb_block   = nb_block   - (NOT OLD.is_reply AND OLD.blocked)::int,
        nb_reply   = nb_reply   - OLD.is_reply::int,
        latest_email_log_id = CASE WHEN latest_email_log_id = OLD.id
            THEN (SELECT max(l.id) FROM email_logs l WHERE l.alias_id = OLD.alias_id)
            ELSE latest_email_log_id END
    WHERE id = OLD.alias_id;
    IF OLD.is_reply THEN
        UPDATE contacts SET last_email_sent_at =
            (SELECT max(l.created_at) FROM email_logs l WHERE l.contact_id = OLD.contact_id AND l.is_reply)
        WHERE id = OLD.contact_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER email_logs_count_delete AFTER DELETE ON email_logs
FOR EACH ROW EXECUTE FUNCTION email_logs_count_delete();

CREATE FUNCTION email_logs_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE aliases SET
        nb_forward = nb_forward - (NOT OLD.is_reply AND NOT OLD.blocked)::int + (NOT NEW.is_reply AND NOT NEW.blocked)::int,
        nb_block   = nb_block   - (NOT OLD.is_reply AND OLD.blocked)::int + (NOT NEW.is_reply AND NEW.blocked)::int,
        nb_reply   = nb_reply   - OLD.is_reply::int + NEW.is_reply::int
    WHERE id = NEW.alias_id;
    RETURN NULL;
END $$;
CREATE TRIGGER email_logs_count_update AFTER UPDATE OF is_reply, blocked ON email_logs
FOR EACH ROW EXECUTE FUNCTION email_logs_count_update();
