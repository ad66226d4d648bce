-- ACD settings: how long an offer rings before the next agent is tried, the
-- sticky-agent window (NULL: off), and each agent's capacity per channel
-- (offers included) and whether a voice contact blocks the other channels.
ALTER TABLE queues ADD COLUMN offer_timeout_secs INTEGER NOT NULL DEFAULT 20;
ALTER TABLE queues ADD COLUMN sticky_secs INTEGER;
ALTER TABLE users ADD COLUMN capacity_voice INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN capacity_chat INTEGER NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_wechat INTEGER NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_sms INTEGER NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN capacity_email INTEGER NOT NULL DEFAULT 5;
ALTER TABLE users ADD COLUMN voice_blocks_other_channels INTEGER NOT NULL DEFAULT 0;
