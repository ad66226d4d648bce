-- A conversation whose visitor wrote while no agent was available is a
-- message left: it waits for an agent even after the visitor goes away.
ALTER TABLE chat_conversations ADD COLUMN message_left BIGINT NOT NULL DEFAULT 0;

-- Files sent in web chats (PostgreSQL; keep in step with migrations/sqlite):
-- stored under DATA_DIR/chat-uploads/, their type found from their bytes;
-- a message may carry one.
CREATE TABLE chat_uploads (
    id               TEXT PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    uploader         TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    path             TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX chat_uploads_conversation ON chat_uploads (conversation_id);

ALTER TABLE chat_messages ADD COLUMN upload_id TEXT REFERENCES chat_uploads(id) ON DELETE SET NULL;
