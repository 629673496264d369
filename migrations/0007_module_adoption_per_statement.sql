-- Module adoption counts (0003) kept by statement-level triggers with
-- transition tables instead of row-level ones: one upsert per module per
-- statement. Row-level triggers update the same few counter rows once per
-- row, so a bulk change of N module rows in one transaction cost O(N^2)
-- (500,000 rows: minutes); per statement it is one grouped pass.
-- Counter rows are always written in module order, so concurrent
-- transactions queue instead of deadlocking.
DROP TRIGGER cog_settings_module_adoption ON cog_settings;
DROP TRIGGER guilds_module_adoption ON guilds;
DROP FUNCTION module_adoption_on_cog_change();
DROP FUNCTION module_adoption_on_guild_activity();
DROP FUNCTION module_adoption_add(TEXT, BIGINT);
DROP FUNCTION module_adoption_guild_active(BIGINT);

-- Module rows inserted: enabled ones of active servers count in.
CREATE FUNCTION module_adoption_on_cog_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_adoption AS a (module, enabled_guilds)
    SELECT n.module, count(*)
      FROM new_rows n JOIN guilds g ON g.id = n.guild_id AND g.left_at IS NULL
     WHERE n.enabled
     GROUP BY n.module ORDER BY n.module
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds;
    RETURN NULL;
END
$$;
CREATE TRIGGER cog_settings_adoption_insert
    AFTER INSERT ON cog_settings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION module_adoption_on_cog_insert();

-- Module rows changed: count each out under its old state, in under its new.
CREATE FUNCTION module_adoption_on_cog_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_adoption AS a (module, enabled_guilds)
    SELECT module, sum(delta)
      FROM (SELECT o.module, -1 AS delta
              FROM old_rows o JOIN guilds g ON g.id = o.guild_id AND g.left_at IS NULL
             WHERE o.enabled
            UNION ALL
            SELECT n.module, 1
              FROM new_rows n JOIN guilds g ON g.id = n.guild_id AND g.left_at IS NULL
             WHERE n.enabled) AS changes
     GROUP BY module HAVING sum(delta) <> 0 ORDER BY module
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds;
    RETURN NULL;
END
$$;
CREATE TRIGGER cog_settings_adoption_update
    AFTER UPDATE ON cog_settings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION module_adoption_on_cog_update();

-- Module rows deleted (also by a server's deletion, see 0003, while the
-- server still counts as active): enabled ones of active servers count out.
CREATE FUNCTION module_adoption_on_cog_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_adoption AS a (module, enabled_guilds)
    SELECT o.module, -count(*)
      FROM old_rows o JOIN guilds g ON g.id = o.guild_id AND g.left_at IS NULL
     WHERE o.enabled
     GROUP BY o.module ORDER BY o.module
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds;
    RETURN NULL;
END
$$;
CREATE TRIGGER cog_settings_adoption_delete
    AFTER DELETE ON cog_settings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION module_adoption_on_cog_delete();

-- Servers left or came back: their enabled modules leave or rejoin the counts.
-- Each updated server counts out under its old state and in under its new,
-- so servers whose activity did not change cancel out (no join between the
-- two transition tables, which have no index).
CREATE FUNCTION module_adoption_on_guild_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_adoption AS a (module, enabled_guilds)
    SELECT module, sum(delta)
      FROM (SELECT c.module, -1 AS delta
              FROM old_rows o JOIN cog_settings c ON c.guild_id = o.id AND c.enabled
             WHERE o.left_at IS NULL
            UNION ALL
            SELECT c.module, 1
              FROM new_rows n JOIN cog_settings c ON c.guild_id = n.id AND c.enabled
             WHERE n.left_at IS NULL) AS changes
     GROUP BY module HAVING sum(delta) <> 0 ORDER BY module
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds;
    RETURN NULL;
END
$$;
CREATE TRIGGER guilds_adoption_update
    AFTER UPDATE ON guilds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION module_adoption_on_guild_update();
