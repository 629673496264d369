-- Who a broadcast is for. Every filter given must hold; all NULL means every
-- active server. The report's "targeted" counts the audience only.
ALTER TABLE broadcasts
    ADD COLUMN audience_language    TEXT    CHECK (audience_language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    ADD COLUMN audience_module      TEXT    CHECK (audience_module ~ '^[a-z0-9_-]{1,32}$'),
    ADD COLUMN audience_min_members INTEGER CHECK (audience_min_members >= 1),
    ADD COLUMN audience_guild_ids   BIGINT[] CHECK (cardinality(audience_guild_ids) BETWEEN 1 AND 25);
