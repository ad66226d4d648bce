-- The variables an IVR flow had set (webhook replies, `set` nodes) when the
-- call entered a queue: what the agent's workspace shows as the caller's
-- CRM data. A JSON object of strings; NULL when the flow set none.
-- Keep in step with the other engine.
ALTER TABLE calls ADD COLUMN variables TEXT;
