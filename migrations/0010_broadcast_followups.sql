-- Edits and recalls of a broadcast's delivered messages ("follow-ups"). One
-- row per edit or recall; its targets are the messages delivered when it was
-- requested, claimed like deliveries (FOR UPDATE SKIP LOCKED plus a lease),
-- so several processes share the work and a crash resumes it.
ALTER TABLE broadcasts
    ADD COLUMN edited_at   TIMESTAMPTZ,
    ADD COLUMN edited_by   BIGINT,
    ADD COLUMN recalled_at TIMESTAMPTZ,
    ADD COLUMN recalled_by BIGINT;

CREATE TABLE broadcast_followups (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    broadcast_id BIGINT      NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('edit', 'recall')),
    requested_by BIGINT      NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at  TIMESTAMPTZ
);
-- One edit or recall of a broadcast at a time: a second waits for the first.
CREATE UNIQUE INDEX broadcast_followups_one_running
    ON broadcast_followups (broadcast_id) WHERE finished_at IS NULL;
CREATE INDEX broadcast_followups_by_broadcast ON broadcast_followups (broadcast_id, id);

CREATE TABLE broadcast_followup_targets (
    followup_id     BIGINT      NOT NULL REFERENCES broadcast_followups (id) ON DELETE CASCADE,
    guild_id        BIGINT      NOT NULL,
    channel_id      BIGINT      NOT NULL,
    message_id      BIGINT      NOT NULL,
    -- done: edited / deleted; gone: the message or channel no longer exists.
    status          TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'gone', 'failed')),
    error_code      INTEGER,
    error_message   TEXT,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by      BIGINT,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (followup_id, guild_id)
);
CREATE INDEX broadcast_followup_targets_pending
    ON broadcast_followup_targets (followup_id, next_attempt_at) WHERE status = 'pending';
