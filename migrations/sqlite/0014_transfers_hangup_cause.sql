-- Attended transfers and why peers hung up. A leg that joined a call from
-- another call (the far side of the agent's consultation call, when the
-- agent's phone joined the caller to it) names that other call's record;
-- the other call ends as `transferred`. `hangup_cause` keeps the Reason
-- (RFC 3326) a peer gave on the CANCEL or BYE that ended the call.
ALTER TABLE call_legs ADD COLUMN transferred_from TEXT REFERENCES calls(id) ON DELETE SET NULL;
ALTER TABLE calls ADD COLUMN hangup_cause TEXT;
