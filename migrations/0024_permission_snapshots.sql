-- What decides where the bot may post, kept current from the gateway so a
-- broadcast knows before sending (issue "Permissions known before sending").
--
-- The server-wide facts sit beside the name and icon, written by the same
-- upsert at every GUILD_CREATE: a restart's burst writes no extra row.
-- Permissions keep only the bits the panel's requests need (administrator,
-- view, send, send in threads, embed links, read history); roles without
-- any of them are left out of `role_permissions` (they count as 0).
-- `bot_role_ids` NULL means no snapshot (not seen since the upgrade, or the
-- bot's member was missing): the bot then sends as it did before.
ALTER TABLE guilds
    ADD COLUMN owner_id             BIGINT,
    ADD COLUMN everyone_permissions BIGINT,
    ADD COLUMN role_permissions     JSONB,   -- {"role id": permissions}
    ADD COLUMN bot_role_ids         BIGINT[],
    ADD COLUMN bot_timed_out_until  TIMESTAMPTZ;

-- The overwrites of the channels the panel posts in only (broadcast
-- channels, system channels, a thread target's parent), not of every
-- channel: a server has up to 500.
CREATE TABLE channel_permissions (
    channel_id BIGINT PRIMARY KEY,
    guild_id   BIGINT      NOT NULL,
    name       TEXT        NOT NULL,                           -- for "missing ... in #name"
    kind       SMALLINT    NOT NULL CHECK (kind IN (0, 1, 2)), -- takes messages, thread, takes none
    parent_id  BIGINT,                                         -- a thread's channel
    -- (target kind: 0 role, 1 member; target id; allow; deny), flattened.
    overwrites BIGINT[]    NOT NULL CHECK (cardinality(overwrites) % 4 = 0),
    deleted_at TIMESTAMPTZ,                                    -- CHANNEL_DELETE, THREAD_DELETE
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX channel_permissions_by_guild ON channel_permissions (guild_id);
