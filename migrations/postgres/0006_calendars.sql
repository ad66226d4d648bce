-- Business-hours calendars that IVR `hours` nodes ask: an IANA time zone,
-- weekly opening hours (JSON object of weekday → ["HH:MM-HH:MM", …]) and
-- holiday dates (JSON array of "YYYY-MM-DD"). Keep in step with the other engine.
CREATE TABLE calendars (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    weekly      TEXT NOT NULL,
    holidays    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
