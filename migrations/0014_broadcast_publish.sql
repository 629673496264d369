-- Publishing (crossposting) broadcasts in announcement channels to the
-- servers that follow them, for servers that opted in. A refused publish never
-- fails the delivery; it is recorded with its reason.
ALTER TABLE guild_settings
    ADD COLUMN broadcast_publish BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE broadcast_deliveries
    ADD COLUMN publish        BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN publish_status TEXT CHECK (publish_status IN ('published', 'not_published')),
    ADD COLUMN publish_error  TEXT;
