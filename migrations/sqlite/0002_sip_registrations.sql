-- SIP registrations survive restarts; the server secret signs digest nonces so
-- they stay valid across restarts and nodes. Keep in step with migrations/postgres.

CREATE TABLE sip_bindings (
    realm       TEXT NOT NULL,
    username    TEXT NOT NULL,
    contact     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    call_id     TEXT NOT NULL,
    cseq        INTEGER NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (realm, username, contact)
);

CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
