-- DKIM keys of Veil's own domains. One instance key (domain '*') signs for every built-in domain;
-- custom domains keep their own key in custom_domains.dkim_private_key.
CREATE TABLE dkim_keys (
    domain       TEXT PRIMARY KEY COLLATE NOCASE,
    selector     TEXT NOT NULL,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
