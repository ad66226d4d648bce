-- A queued call's part of the call detail record: the ACD contact it became,
-- the queue it waited in, the agent (extension) who took it, how long the
-- caller waited for that agent and how long they talked.
ALTER TABLE calls ADD COLUMN contact_id TEXT;
ALTER TABLE calls ADD COLUMN queue TEXT;
ALTER TABLE calls ADD COLUMN agent TEXT;
ALTER TABLE calls ADD COLUMN wait_ms INTEGER;
ALTER TABLE calls ADD COLUMN talk_ms INTEGER;
