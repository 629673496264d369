-- A second pair of eyes (BROADCAST_APPROVALS=1): Send or Schedule asks for
-- approval instead. The draft stays a draft, frozen (no edit), until another
-- developer approves it (it is queued then) or rejects it with a reason (it
-- can be edited and submitted again).
ALTER TABLE broadcasts
    ADD COLUMN approval_requested_at TIMESTAMPTZ,
    ADD COLUMN approval_requested_by BIGINT,
    ADD COLUMN approved_by           BIGINT,
    ADD COLUMN approved_at           TIMESTAMPTZ,
    ADD COLUMN rejected_by           BIGINT,
    ADD COLUMN rejected_at           TIMESTAMPTZ,
    ADD COLUMN rejection_reason      TEXT CHECK (char_length(rejection_reason) <= 500);
CREATE INDEX broadcasts_awaiting_approval ON broadcasts (approval_requested_at)
    WHERE status = 'draft' AND approval_requested_at IS NOT NULL;
