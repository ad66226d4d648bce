-- Session tokens: a user's web login is an api_tokens row (name `session`)
-- that stops working at expires_at (Unix ms; NULL: never, as API tokens).
-- Keep in step with the other engine.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
