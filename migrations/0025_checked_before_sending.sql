-- Checked before sending (issue "Permissions known before sending", item 3).

-- Whose member the snapshot describes: a member overwrite for the bot is
-- matched against it, and the owner check too.
ALTER TABLE guilds ADD COLUMN bot_user_id BIGINT;

-- Discord answered 403 for this channel although the snapshot allowed the
-- request: no request goes there until the next event about the channel or
-- its server clears it.
ALTER TABLE channel_permissions ADD COLUMN refused_at TIMESTAMPTZ;

-- What the snapshot said the bot lacked ("Send Messages, Embed Links"), for
-- a delivery or follow-up failed without a request: the report groups these
-- apart from Discord's own refusals.
ALTER TABLE broadcast_deliveries ADD COLUMN missing_permission TEXT;
ALTER TABLE broadcast_followup_targets ADD COLUMN missing_permission TEXT;

-- A broadcast channel the gateway said was deleted is skipped, not tried.
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_skip_reason_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_skip_reason_check
    CHECK (skip_reason IN ('no_channel', 'category_refused', 'channel_deleted'));
