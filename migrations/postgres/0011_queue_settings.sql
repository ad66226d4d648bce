-- The rest of a queue's ACD settings. tier_after_secs: tier n unlocks after
-- the contact waited (n - 1) × this (NULL: every tier at once); max_size: most
-- contacts waiting (NULL: no limit); timeout_target: where a contact that
-- leaves unserved goes (`disconnect`, `voicemail:BOX`, `callback`,
-- `flow:NAME`); overflow_queue (a queue name of the same tenant, NULL: none)
-- takes contacts that waited overflow_after_secs; join_when_empty and
-- leave_when_empty are 0/1; announce_every_secs: position announcements
-- (NULL: none, 0: once on arrival); expected_handle_secs: assumed handle time
-- until real ones are measured; calendar: the tenant's business-hours
-- calendar the queue is open by (NULL: always open). Keep in step with the
-- other engine.
ALTER TABLE queues ADD COLUMN tier_after_secs BIGINT;
ALTER TABLE queues ADD COLUMN max_size BIGINT;
ALTER TABLE queues ADD COLUMN timeout_target TEXT NOT NULL DEFAULT 'disconnect';
ALTER TABLE queues ADD COLUMN overflow_queue TEXT;
ALTER TABLE queues ADD COLUMN overflow_after_secs BIGINT;
ALTER TABLE queues ADD COLUMN join_when_empty BIGINT NOT NULL DEFAULT 1;
ALTER TABLE queues ADD COLUMN leave_when_empty BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN announce_every_secs BIGINT;
ALTER TABLE queues ADD COLUMN expected_handle_secs BIGINT NOT NULL DEFAULT 180;
ALTER TABLE queues ADD COLUMN calendar TEXT;
