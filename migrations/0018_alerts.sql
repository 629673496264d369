-- Alerts to the developers (issue 17, part 2). Several bot processes evaluate
-- the same conditions; these rows decide which process sends each message, so
-- an alert is sent once however many processes see it.

-- Where alerts go: one row, set by /admin alerts channel.
CREATE TABLE alert_settings (
    id         BOOLEAN     PRIMARY KEY DEFAULT true CHECK (id),
    guild_id   BIGINT      NOT NULL,
    channel_id BIGINT      NOT NULL,
    set_by     BIGINT      NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per alert key (`errors:command_error`, `health:memory`,
-- `broadcast:42`, `servers:drop`). `notified` says whether the current
-- activation was announced (sent, or counted in a suppression summary);
-- `announced_at` is when the key last was, so a key that comes back within 10
-- minutes waits. `owner` is the process whose own state the alert describes
-- (its memory, its shards): only that process resolves it. NULL: any process.
CREATE TABLE alerts (
    key           TEXT        PRIMARY KEY CHECK (key ~ '^[a-z0-9_:.\-]{1,100}$'),
    state         TEXT        NOT NULL CHECK (state IN ('active', 'resolved')),
    title         TEXT        NOT NULL CHECK (char_length(title) <= 256),
    detail        TEXT        NOT NULL CHECK (char_length(detail) <= 4000),
    owner         BIGINT,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at   TIMESTAMPTZ,
    notified      BOOLEAN     NOT NULL DEFAULT false,
    announced_at  TIMESTAMPTZ,
    messages      INTEGER     NOT NULL DEFAULT 0
);
CREATE INDEX alerts_active ON alerts (first_seen_at DESC) WHERE state = 'active';
CREATE INDEX alerts_recent ON alerts (resolved_at DESC) WHERE state = 'resolved';

-- /admin alerts mute: nothing is sent for the key until `until`.
CREATE TABLE alert_mutes (
    key      TEXT        PRIMARY KEY CHECK (key ~ '^[a-z0-9_:.\-]{1,100}$'),
    until    TIMESTAMPTZ NOT NULL,
    muted_by BIGINT      NOT NULL,
    muted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The hourly budget shared by every process: one row, counted atomically. A
-- window starts at the first message after the previous one ended; messages
-- over the budget are counted with their keys, and summarized in one message.
CREATE TABLE alert_budget (
    id                BOOLEAN     PRIMARY KEY DEFAULT true CHECK (id),
    window_started_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
    sent              INTEGER     NOT NULL DEFAULT 0,
    suppressed        INTEGER     NOT NULL DEFAULT 0,
    -- How many of `suppressed` a summary has reported already.
    summarized        INTEGER     NOT NULL DEFAULT 0,
    -- Keys suppressed since the last summary (at most 1000 kept).
    pending_keys      TEXT[]      NOT NULL DEFAULT '{}'
);
INSERT INTO alert_budget DEFAULT VALUES;
