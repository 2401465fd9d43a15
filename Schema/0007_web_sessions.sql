-- Dashboard sessions. The cookie carries a random token; only its SHA-256 digest is stored, so a
-- copy of the database opens no session. A session lives `expires_at` (sliding: each use moves
-- it, at most once a minute) and is gone at logout, password change or "log out everywhere".
CREATE TABLE web_sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Sent back in every form and cookie-authenticated write; random per session.
    csrf_token  TEXT NOT NULL,
    user_agent  TEXT,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- The password was given again for a sensitive change; valid until then.
    sudo_until  INTEGER
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);

-- One-use tokens that open a session from an app (`GET /api/user/cookie_token` →
-- `/auth/api_to_cookie?token=...`); minutes long, digest only.
CREATE TABLE web_login_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX web_login_tokens_expiry ON web_login_tokens(expires_at);
