-- ACD settings: how long an offer rings before the next agent is tried, the
-- sticky-agent window (NULL: off), and each agent's capacity per channel
-- (offers included) and whether a voice contact blocks the other channels.
ALTER TABLE queues ADD COLUMN offer_timeout_secs BIGINT NOT NULL DEFAULT 20;
ALTER TABLE queues ADD COLUMN sticky_secs BIGINT;
ALTER TABLE users ADD COLUMN capacity_voice BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN capacity_chat BIGINT NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_wechat BIGINT NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_sms BIGINT NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_email BIGINT NOT NULL DEFAULT 5;
ALTER TABLE users ADD COLUMN voice_blocks_other_channels BIGINT NOT NULL DEFAULT 0;
