-- Web chat (SQLite; keep in step with migrations/postgres). A channel is one
-- site's widget: its queues (the first is the default, the others are
-- pre-chat topics), allowed Origins, the key that signs anonymous visitor
-- tokens and the key that verifies the site's identity JWTs. A conversation
-- spans one or more ACD contacts (a restart routes it again); its messages
-- carry a per-conversation sequence number and the sender's client id, so a
-- resent message is stored once.
CREATE TABLE chat_channels (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             TEXT NOT NULL UNIQUE,
    queues           TEXT NOT NULL,
    allowed_origins  TEXT NOT NULL DEFAULT '',
    visitor_key      TEXT NOT NULL,
    identity_key     TEXT,
    created_at       INTEGER NOT NULL
);

CREATE TABLE chat_conversations (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES chat_channels(id) ON DELETE CASCADE,
    visitor_id      TEXT NOT NULL,
    customer_id     TEXT,
    visitor_name    TEXT,
    visitor_email   TEXT,
    queue           TEXT NOT NULL,
    contact_id      TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    agent_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'ended')),
    last_seq        INTEGER NOT NULL DEFAULT 0,
    visitor_read_seq INTEGER NOT NULL DEFAULT 0,
    agent_read_seq  INTEGER NOT NULL DEFAULT 0,
    disposition     TEXT,
    created_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE INDEX chat_conversations_visitor ON chat_conversations (channel_id, visitor_id, state);
CREATE INDEX chat_conversations_state ON chat_conversations (state);

CREATE TABLE chat_conversation_contacts (
    contact_id       TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE
);

CREATE TABLE chat_messages (
    id               TEXT PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    sender           TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    author           TEXT NOT NULL,
    user_id          TEXT REFERENCES users(id) ON DELETE SET NULL,
    client_id        TEXT,
    internal         INTEGER NOT NULL DEFAULT 0,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, author, client_id)
);

CREATE TABLE chat_canned_responses (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    shortcut   TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, shortcut)
);
