-- The whole admin-panel schema. Discord ids (snowflakes) are BIGINT: they fit in
-- 63 bits until the year 2084, and the store converts them in one place.

-- Servers the bot is (or was) in. Written from gateway events by whichever
-- process owns the guild's shard, so any process can answer /admin about it.
CREATE TABLE guilds (
    id           BIGINT PRIMARY KEY,
    name         TEXT        NOT NULL,
    icon_hash    TEXT,
    member_count INTEGER     NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    joined_at    TIMESTAMPTZ NOT NULL,               -- installation date, from Discord
    left_at      TIMESTAMPTZ,                        -- NULL = active
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Keyset pagination of active servers by each sort the server list offers.
CREATE INDEX guilds_active_by_members ON guilds (member_count DESC, id DESC) WHERE left_at IS NULL;
CREATE INDEX guilds_active_by_joined  ON guilds (joined_at DESC, id DESC)    WHERE left_at IS NULL;
CREATE INDEX guilds_active_by_name    ON guilds (lower(name), id)       WHERE left_at IS NULL;

-- One row per guild, created with the guild, so every reader sees the same defaults.
CREATE TABLE guild_settings (
    guild_id             BIGINT PRIMARY KEY REFERENCES guilds (id) ON DELETE CASCADE,
    language             TEXT    NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    embed_color          INTEGER NOT NULL DEFAULT 5793266 CHECK (embed_color BETWEEN 0 AND 16777215), -- #5865F2
    broadcast_channel_id BIGINT,
    broadcast_categories TEXT[]  NOT NULL DEFAULT ARRAY ['changelog', 'announcement', 'maintenance']
        CHECK (broadcast_categories <@ ARRAY ['changelog', 'announcement', 'maintenance']),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Module ("cog") settings per guild; a module without a row is disabled.
CREATE TABLE cog_settings (
    guild_id   BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    module     TEXT    NOT NULL CHECK (module ~ '^[a-z0-9_-]{1,32}$'),
    enabled    BOOLEAN NOT NULL DEFAULT false,
    settings   JSONB   NOT NULL DEFAULT '{}'::jsonb,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, module)
);
CREATE INDEX cog_settings_enabled_by_module ON cog_settings (module, guild_id) WHERE enabled;

-- People who may use a server's web dashboard (shown in the server view).
CREATE TABLE dashboard_users (
    guild_id BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL,
    role     TEXT   NOT NULL DEFAULT 'editor' CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    added_by BIGINT,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);

-- Raw command events, append-only; kept STATS_RETENTION_DAYS. Queries that
-- span days read the rollups below, never this table.
-- No primary key: nothing looks an event up by id, and each index costs every
-- insert. Events arrive in time order, so a BRIN index serves the time-range
-- reads (the 24 h boundary hour, retention) at a fraction of a B-tree's cost.
CREATE TABLE command_stats (
    command     TEXT        NOT NULL CHECK (length(command) BETWEEN 1 AND 100),
    guild_id    BIGINT,                               -- NULL in DMs
    user_id     BIGINT      NOT NULL,
    executed_at TIMESTAMPTZ NOT NULL,
    success     BOOLEAN     NOT NULL,
    duration_ms INTEGER     NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX command_stats_executed_at ON command_stats USING brin (executed_at);

-- Rollups, updated in the same statement that inserts a batch of events.
CREATE TABLE command_stats_hourly (
    hour     TIMESTAMPTZ NOT NULL,                    -- date_trunc('hour', executed_at)
    command  TEXT        NOT NULL,
    uses     BIGINT      NOT NULL,
    failures BIGINT      NOT NULL,
    PRIMARY KEY (hour, command)
);
CREATE TABLE command_stats_daily (
    day               DATE   NOT NULL,                -- UTC day
    command           TEXT   NOT NULL,
    uses              BIGINT NOT NULL,
    failures          BIGINT NOT NULL,
    total_duration_ms BIGINT NOT NULL,
    PRIMARY KEY (day, command)
);
CREATE INDEX command_stats_daily_by_command ON command_stats_daily (command, day);
CREATE TABLE command_stats_guild_daily (
    day      DATE   NOT NULL,
    guild_id BIGINT NOT NULL,
    uses     BIGINT NOT NULL,
    PRIMARY KEY (guild_id, day)
);
-- Every user who ever ran a command; its size is kept in stat_counters so
-- "unique users" never counts millions of rows.
-- Insert-only (ON CONFLICT DO NOTHING), so a batch of known users writes nothing.
CREATE TABLE command_users (
    user_id       BIGINT PRIMARY KEY,
    first_seen_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE stat_counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO stat_counters (name, value) VALUES ('unique_users', 0);

-- Operational log, fed by the tracing layer and by explicit events.
CREATE TABLE system_logs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    severity   TEXT        NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    event_type TEXT        NOT NULL CHECK (event_type ~ '^[a-z0-9_]{1,64}$'),
    guild_id   BIGINT,
    message    TEXT        NOT NULL CHECK (length(message) <= 4000)
);
CREATE INDEX system_logs_newest            ON system_logs (created_at DESC, id DESC);
CREATE INDEX system_logs_by_severity       ON system_logs (severity, created_at DESC, id DESC);
CREATE INDEX system_logs_by_event_type     ON system_logs (event_type, created_at DESC, id DESC);
CREATE INDEX system_logs_by_guild          ON system_logs (guild_id, created_at DESC, id DESC) WHERE guild_id IS NOT NULL;

CREATE TABLE broadcasts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category     TEXT        NOT NULL CHECK (category IN ('changelog', 'announcement', 'maintenance')),
    title        TEXT        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 256),
    content      TEXT        CHECK (char_length(content) <= 4000),
    color        INTEGER     CHECK (color BETWEEN 0 AND 16777215),
    image_url    TEXT        CHECK (image_url ~ '^https?://' AND char_length(image_url) <= 2048),
    footer       TEXT        CHECK (char_length(footer) <= 2048),
    status       TEXT        NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    created_by   BIGINT      NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    scheduled_for TIMESTAMPTZ,                        -- NULL = send when Send is pressed
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    cancelled_by BIGINT,
    -- The composer's interaction, so the worker can edit its progress message
    -- while the token lives (15 minutes).
    progress_application_id BIGINT,
    progress_token          TEXT,
    progress_token_expires_at TIMESTAMPTZ
);
CREATE INDEX broadcasts_due    ON broadcasts (scheduled_for) WHERE status IN ('scheduled', 'sending');
CREATE INDEX broadcasts_newest ON broadcasts (created_at DESC, id DESC);

-- The delivery queue and report: one row per (broadcast, guild), written when
-- delivery starts; workers claim pending rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE broadcast_deliveries (
    broadcast_id    BIGINT  NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    guild_id        BIGINT  NOT NULL,
    channel_id      BIGINT,
    status          TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'skipped', 'failed', 'cancelled')),
    skip_reason     TEXT    CHECK (skip_reason IN ('no_channel', 'category_refused')),
    error_code      INTEGER,
    error_message   TEXT,
    message_id      BIGINT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (broadcast_id, guild_id),
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
CREATE INDEX broadcast_deliveries_pending ON broadcast_deliveries (broadcast_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX broadcast_deliveries_by_status ON broadcast_deliveries (broadcast_id, status);

-- Developers besides the primary one (DEVELOPER_USER_ID, never stored here).
CREATE TABLE developers (
    user_id  BIGINT PRIMARY KEY,
    added_by BIGINT      NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per running bot process (several processes can share the shards).
CREATE TABLE bot_instances (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host              TEXT        NOT NULL,
    pid               INTEGER     NOT NULL,
    shard_ids         INTEGER[]   NOT NULL DEFAULT '{}',
    shard_count       INTEGER,
    version           TEXT        NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    memory_bytes      BIGINT,
    stopped_at        TIMESTAMPTZ
);
CREATE INDEX bot_instances_started ON bot_instances (started_at DESC);
