-- The IVR path a call took: the nodes it visited, in order, and the keys
-- the caller pressed, for the call detail record.
ALTER TABLE calls ADD COLUMN flow_name TEXT;
ALTER TABLE calls ADD COLUMN flow_version INTEGER;
ALTER TABLE calls ADD COLUMN flow_path TEXT;
ALTER TABLE calls ADD COLUMN digits TEXT;
