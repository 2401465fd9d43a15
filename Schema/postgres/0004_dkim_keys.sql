-- DKIM keys of Veil's own domains ('*' is the instance key for every built-in domain).
CREATE TABLE dkim_keys (
    domain       CITEXT PRIMARY KEY,
    selector     TEXT NOT NULL,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
