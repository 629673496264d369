-- Live progress of an edit or recall: the interaction that started it (Apply,
-- or the recall's confirm button), edited by the worker while its token lives
-- (15 minutes) and forgotten when the follow-up finishes.
ALTER TABLE broadcast_followups
    ADD COLUMN progress_application_id   BIGINT,
    ADD COLUMN progress_token            TEXT,
    ADD COLUMN progress_token_expires_at TIMESTAMPTZ;
