-- kefu's initial schema (SQLite). Keep in step with migrations/postgres.
-- Ids are text (UUIDv7) made by kefu; times are Unix milliseconds.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    sip_realm   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    extension      TEXT,
    password_hash  TEXT,
    sip_ha1_md5    TEXT,
    sip_ha1_sha256 TEXT,
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER,
    UNIQUE (tenant_id, username),
    UNIQUE (tenant_id, extension)
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('admin', 'agent')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE sip_trunks (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    host           TEXT,
    port           INTEGER,
    transport      TEXT NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls', 'ws')),
    trusted_cidrs  TEXT NOT NULL DEFAULT '',
    auth_username  TEXT,
    auth_ha1       TEXT,
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER,
    UNIQUE (tenant_id, name)
);

CREATE TABLE queues (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    strategy           TEXT NOT NULL DEFAULT 'longest-idle',
    service_level_secs INTEGER NOT NULL DEFAULT 20,
    wrap_up_secs       INTEGER NOT NULL DEFAULT 10,
    max_wait_secs      INTEGER,
    created_at         INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE skills (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE agent_skills (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill_id  TEXT NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    level     INTEGER NOT NULL CHECK (level BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, skill_id)
);

CREATE TABLE queue_members (
    queue_id  TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tier      INTEGER NOT NULL DEFAULT 1,
    penalty   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, user_id)
);

CREATE TABLE ivr_flows (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE number_routes (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number       TEXT NOT NULL,
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('ivr', 'queue', 'agent', 'echo', 'trunk')),
    target       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, number)
);

CREATE TABLE calls (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE SET NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    from_uri    TEXT NOT NULL,
    to_uri      TEXT NOT NULL,
    did         TEXT,
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    end_reason  TEXT
);
CREATE INDEX calls_started_at ON calls (started_at);

CREATE TABLE call_legs (
    id           TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('caller', 'agent', 'trunk', 'supervisor', 'ivr')),
    sip_call_id  TEXT NOT NULL,
    peer_uri     TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    answered_at  INTEGER,
    ended_at     INTEGER,
    final_status INTEGER,
    codec        TEXT,
    rtp_packets_lost INTEGER,
    rtp_jitter_ms    INTEGER
);
CREATE INDEX call_legs_call_id ON call_legs (call_id);
CREATE INDEX call_legs_sip_call_id ON call_legs (sip_call_id);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL CHECK (channel IN ('voice', 'chat', 'wechat', 'sms', 'email')),
    queue_id    TEXT REFERENCES queues(id) ON DELETE SET NULL,
    priority    INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    customer_id TEXT,
    state       TEXT NOT NULL,
    call_id     TEXT REFERENCES calls(id) ON DELETE SET NULL,
    agent_id    TEXT REFERENCES users(id) ON DELETE SET NULL,
    disposition TEXT,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX contacts_created_at ON contacts (tenant_id, created_at);
CREATE INDEX contacts_customer ON contacts (tenant_id, customer_id);

CREATE TABLE contact_events (
    id          TEXT PRIMARY KEY,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, at);

CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants(id) ON DELETE SET NULL,
    call_id      TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    path         TEXT NOT NULL UNIQUE,
    sample_rate  INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    duration_ms  INTEGER,
    size_bytes   INTEGER,
    pauses       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX recordings_call_id ON recordings (call_id);
