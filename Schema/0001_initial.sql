-- Veil schema, migration 1: every table the API and the mail handler need.
-- Times are INTEGER Unix seconds (UTC). Booleans are INTEGER 0/1.
-- Addresses compare case-insensitively (COLLATE NOCASE); the hot lookups are indexed.

-- Secrets generated on first run (HMAC keys, DKIM keys of built-in domains).
CREATE TABLE instance_secrets (
    name        TEXT PRIMARY KEY NOT NULL,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                                  INTEGER PRIMARY KEY,
    email                               TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name                                TEXT,
    password_hash                       TEXT,
    activated                           INTEGER NOT NULL DEFAULT 0,
    disabled                            INTEGER NOT NULL DEFAULT 0,
    is_premium                          INTEGER NOT NULL DEFAULT 0,
    trial_end                           INTEGER,
    old_free_limit                      INTEGER NOT NULL DEFAULT 0,
    cannot_create_contacts              INTEGER NOT NULL DEFAULT 0,
    fido_enabled                        INTEGER NOT NULL DEFAULT 0,
    delete_on                           INTEGER,
    default_mailbox_id                  INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
    default_custom_domain_id            INTEGER REFERENCES custom_domains(id) ON DELETE SET NULL,
    -- settings
    alias_generator                     TEXT NOT NULL DEFAULT 'word'
        CHECK (alias_generator IN ('word', 'uuid')),
    notification                        INTEGER NOT NULL DEFAULT 1,
    random_alias_default_domain         TEXT,
    sender_format                       TEXT NOT NULL DEFAULT 'AT'
        CHECK (sender_format IN ('AT', 'A', 'NAME_ONLY', 'AT_ONLY', 'NO_NAME')),
    random_alias_suffix                 TEXT NOT NULL DEFAULT 'word'
        CHECK (random_alias_suffix IN ('word', 'random_string')),
    include_sender_in_reverse_alias     INTEGER NOT NULL DEFAULT 0,
    block_behaviour                     TEXT NOT NULL DEFAULT 'return_2xx'
        CHECK (block_behaviour IN ('return_2xx', 'return_5xx')),
    include_website_in_one_click_alias  INTEGER NOT NULL DEFAULT 1,
    include_original_headers            INTEGER NOT NULL DEFAULT 0,
    replace_reverse_alias               INTEGER NOT NULL DEFAULT 0,
    otp_webhook_url                     TEXT,
    profile_picture                     BLOB,
    profile_picture_type                TEXT,
    created_at                          INTEGER NOT NULL,
    updated_at                          INTEGER
);

-- API keys are stored as SHA-256 digests; the key itself is shown once.
-- `derivation_salt` is set for per-device login keys, which are re-derivable (HMAC) so that a
-- second login on the same device returns the same key, as SimpleLogin clients expect.
CREATE TABLE api_keys (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    key_hash         TEXT NOT NULL UNIQUE,
    derivation_salt  BLOB,
    last_used        INTEGER,
    times            INTEGER NOT NULL DEFAULT 0,
    sudo_until       INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX api_keys_user ON api_keys(user_id, name);

CREATE TABLE mfa_secrets (
    user_id          INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    totp_secret      TEXT NOT NULL,          -- base32, as authenticator apps show it
    enabled          INTEGER NOT NULL DEFAULT 0,
    last_used_step   INTEGER,                -- replay protection
    created_at       INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE mailboxes (
    id                      INTEGER PRIMARY KEY,
    user_id                 INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email                   TEXT NOT NULL COLLATE NOCASE,
    verified                INTEGER NOT NULL DEFAULT 0,
    disabled                INTEGER NOT NULL DEFAULT 0,  -- e.g. after repeated bounces
    admin_disabled          INTEGER NOT NULL DEFAULT 0,
    new_email               TEXT COLLATE NOCASE,         -- pending change, verified by link
    pgp_public_key          TEXT,
    generic_subject         TEXT,
    created_at              INTEGER NOT NULL,
    UNIQUE (user_id, email)
);
CREATE INDEX mailboxes_email ON mailboxes(email);

-- Extra sender addresses a mailbox may reply from.
CREATE TABLE authorized_addresses (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    email       TEXT NOT NULL COLLATE NOCASE,
    created_at  INTEGER NOT NULL,
    UNIQUE (mailbox_id, email)
);

CREATE TABLE custom_domains (
    id                        INTEGER PRIMARY KEY,
    user_id                   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    domain                    TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name                      TEXT,
    verified                  INTEGER NOT NULL DEFAULT 0,  -- ownership (MX) verified
    mx_verified               INTEGER NOT NULL DEFAULT 0,
    spf_verified              INTEGER NOT NULL DEFAULT 0,
    dkim_verified             INTEGER NOT NULL DEFAULT 0,
    dmarc_verified            INTEGER NOT NULL DEFAULT 0,
    catch_all                 INTEGER NOT NULL DEFAULT 0,
    random_prefix_generation  INTEGER NOT NULL DEFAULT 0,
    ownership_token           TEXT NOT NULL,
    dkim_selector             TEXT NOT NULL DEFAULT 'veil',
    dkim_private_key          TEXT,                        -- PEM
    dkim_ed25519_key          BLOB,
    last_checked_at           INTEGER,
    created_at                INTEGER NOT NULL
);
CREATE INDEX custom_domains_user ON custom_domains(user_id);

CREATE TABLE custom_domain_mailboxes (
    custom_domain_id  INTEGER NOT NULL REFERENCES custom_domains(id) ON DELETE CASCADE,
    mailbox_id        INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    PRIMARY KEY (custom_domain_id, mailbox_id)
);

CREATE TABLE aliases (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email               TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name                TEXT,
    note                TEXT,
    enabled             INTEGER NOT NULL DEFAULT 1,
    pinned              INTEGER NOT NULL DEFAULT 0,
    disable_pgp         INTEGER NOT NULL DEFAULT 0,
    custom_domain_id    INTEGER REFERENCES custom_domains(id) ON DELETE CASCADE,
    mailbox_id          INTEGER NOT NULL REFERENCES mailboxes(id),  -- the primary mailbox
    automatic_creation  INTEGER NOT NULL DEFAULT 0,
    cannot_be_disabled  INTEGER NOT NULL DEFAULT 0,
    trashed_at          INTEGER,   -- in the user's trash: disabled, purged later, never re-creatable
    created_at          INTEGER NOT NULL
);
CREATE INDEX aliases_user_created ON aliases(user_id, created_at);
CREATE INDEX aliases_mailbox ON aliases(mailbox_id);

-- Extra mailboxes of an alias (the primary one is aliases.mailbox_id).
CREATE TABLE alias_mailboxes (
    alias_id    INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    PRIMARY KEY (alias_id, mailbox_id)
);
CREATE INDEX alias_mailboxes_mailbox ON alias_mailboxes(mailbox_id);

-- Which alias was created for (or used on) which website, drives `recommendation`.
CREATE TABLE alias_hostnames (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alias_id    INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    hostname    TEXT NOT NULL COLLATE NOCASE,
    created_at  INTEGER NOT NULL,
    UNIQUE (alias_id, hostname)
);
CREATE INDEX alias_hostnames_user ON alias_hostnames(user_id, hostname);

-- Addresses that can never become an alias again (global list and per-domain trash).
CREATE TABLE deleted_aliases (
    id                INTEGER PRIMARY KEY,
    email             TEXT NOT NULL COLLATE NOCASE UNIQUE,
    user_id           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    custom_domain_id  INTEGER REFERENCES custom_domains(id) ON DELETE CASCADE,
    reason            TEXT,
    created_at        INTEGER NOT NULL
);
CREATE INDEX deleted_aliases_domain ON deleted_aliases(custom_domain_id);

-- Remote correspondents of an alias; reply_email is the reverse-alias.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alias_id        INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    website_email   TEXT NOT NULL COLLATE NOCASE,
    name            TEXT,
    reply_email     TEXT NOT NULL COLLATE NOCASE UNIQUE,
    mail_from       TEXT,
    block_forward   INTEGER NOT NULL DEFAULT 0,
    is_cc           INTEGER NOT NULL DEFAULT 0,
    invalid_email   INTEGER NOT NULL DEFAULT 0,
    pgp_public_key  TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (alias_id, website_email)
);
CREATE INDEX contacts_user ON contacts(user_id);

-- Original messages kept when mail is refused, quarantined or bounces.
CREATE TABLE refused_emails (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    full_report  BLOB,
    original     BLOB,
    delete_at    INTEGER,
    created_at   INTEGER NOT NULL
);

CREATE TABLE email_logs (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alias_id            INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    contact_id          INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    mailbox_id          INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
    bounced_mailbox_id  INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
    is_reply            INTEGER NOT NULL DEFAULT 0,
    blocked             INTEGER NOT NULL DEFAULT 0,
    bounced             INTEGER NOT NULL DEFAULT 0,
    auto_replied        INTEGER NOT NULL DEFAULT 0,
    is_spam             INTEGER NOT NULL DEFAULT 0,
    spam_score          REAL,
    bounce_reason       TEXT,
    message_id          TEXT,
    veil_message_id     TEXT,
    refused_email_id    INTEGER REFERENCES refused_emails(id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX email_logs_alias_created ON email_logs(alias_id, created_at);
CREATE INDEX email_logs_user_created ON email_logs(user_id, created_at);
CREATE INDEX email_logs_contact ON email_logs(contact_id);

-- Veil's Message-ID for a reply ↔ the id the mailbox wrote (threads stay intact).
CREATE TABLE message_id_matches (
    id                   INTEGER PRIMARY KEY,
    veil_message_id      TEXT NOT NULL UNIQUE,
    original_message_id  TEXT NOT NULL UNIQUE,
    email_log_id         INTEGER REFERENCES email_logs(id) ON DELETE SET NULL,
    created_at           INTEGER NOT NULL
);

-- Addresses that bounced, and transactional mail Veil sent itself.
CREATE TABLE bounces (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL COLLATE NOCASE,
    info        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX bounces_email ON bounces(email, created_at);

CREATE TABLE transactional_emails (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Alerts sent to users, for "at most N per day" limits.
CREATE TABLE sent_alerts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alert_type  TEXT NOT NULL,
    to_email    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX sent_alerts_user ON sent_alerts(user_id, alert_type, created_at);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       TEXT,
    message     TEXT NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, read, created_at);

-- One-time codes and links: account activation, mailbox verification, password reset, login MFA.
-- Only an HMAC of the code is stored.
CREATE TABLE one_time_codes (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    mailbox_id   INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL
        CHECK (purpose IN ('account_activation', 'mailbox_verification', 'password_reset', 'login_mfa', 'phone_verification')),
    channel      TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms', 'link')),
    recipient    TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'verified', 'expired', 'failed', 'canceled')),
    tries_left   INTEGER NOT NULL,
    max_tries    INTEGER NOT NULL,
    expires_at   INTEGER,
    verified_at  INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX one_time_codes_user ON one_time_codes(user_id, purpose, status);
CREATE INDEX one_time_codes_created ON one_time_codes(created_at);
CREATE INDEX one_time_codes_hash ON one_time_codes(code_hash);

CREATE TABLE phone_countries (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    iso_code      TEXT,
    calling_code  TEXT
);

CREATE TABLE phone_numbers (
    id          INTEGER PRIMARY KEY,
    country_id  INTEGER NOT NULL REFERENCES phone_countries(id),
    number      TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL DEFAULT 'manual',
    active      INTEGER NOT NULL DEFAULT 1,
    comment     TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE phone_reservations (
    id          INTEGER PRIMARY KEY,
    number_id   INTEGER NOT NULL REFERENCES phone_numbers(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX phone_reservations_number ON phone_reservations(number_id, start_at);
CREATE INDEX phone_reservations_user ON phone_reservations(user_id);

CREATE TABLE phone_messages (
    id           INTEGER PRIMARY KEY,
    number_id    INTEGER NOT NULL REFERENCES phone_numbers(id) ON DELETE CASCADE,
    from_number  TEXT NOT NULL,
    body         TEXT NOT NULL,
    otp_code     TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX phone_messages_number ON phone_messages(number_id, created_at);

-- App Store receipts that made a user premium.
CREATE TABLE apple_subscriptions (
    id                       INTEGER PRIMARY KEY,
    user_id                  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    original_transaction_id  TEXT,
    expires_at               INTEGER,
    receipt                  TEXT NOT NULL,
    created_at               INTEGER NOT NULL
);

-- Outgoing copies Veil holds durably when the relay is unavailable, retried with backoff.
CREATE TABLE outbound_queue (
    id               INTEGER PRIMARY KEY,
    email_log_id     INTEGER REFERENCES email_logs(id) ON DELETE SET NULL,
    envelope_from    TEXT NOT NULL,
    envelope_to      TEXT NOT NULL,
    data             BLOB NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX outbound_queue_due ON outbound_queue(next_attempt_at);

-- Background work (account deletion, mailbox deletion, webhooks) that must survive restarts.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'taken', 'done', 'error')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    last_error   TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
