-- Every agent state change the ACD makes (login, ready, not ready with its
-- reason, busy, wrap-up, logout), with its cause, for agent reports
-- (not-ready time by reason, occupancy).
CREATE TABLE agent_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    state      TEXT NOT NULL,
    reason     TEXT,
    cause      TEXT NOT NULL
);
CREATE INDEX agent_events_user ON agent_events (user_id, at);
