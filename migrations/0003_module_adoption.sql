-- How many active servers have each module enabled, kept current by triggers so
-- /admin modules reads a handful of rows instead of joining every module row
-- with every guild (300,000+ rows at 100,000 servers). The maintenance task
-- recounts it from scratch now and then, which also heals the rare drift two
-- racing transactions (a module toggled while its server leaves) can cause.
CREATE TABLE module_adoption (
    module         TEXT PRIMARY KEY,
    enabled_guilds BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION module_adoption_add(p_module TEXT, p_delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO module_adoption AS a (module, enabled_guilds) VALUES (p_module, p_delta)
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds
$$;

CREATE FUNCTION module_adoption_guild_active(p_guild BIGINT) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM guilds WHERE id = p_guild AND left_at IS NULL)
$$;

-- A module row changed: count it out under its old state, in under its new one.
CREATE FUNCTION module_adoption_on_cog_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_counts BOOLEAN := false;
    new_counts BOOLEAN := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_counts := OLD.enabled AND module_adoption_guild_active(OLD.guild_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_counts := NEW.enabled AND module_adoption_guild_active(NEW.guild_id);
    END IF;
    IF old_counts AND NOT (new_counts AND OLD.module = NEW.module) THEN
        PERFORM module_adoption_add(OLD.module, -1);
    END IF;
    IF new_counts AND NOT (old_counts AND OLD.module = NEW.module) THEN
        PERFORM module_adoption_add(NEW.module, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cog_settings_module_adoption
    AFTER INSERT OR UPDATE OR DELETE ON cog_settings
    FOR EACH ROW EXECUTE FUNCTION module_adoption_on_cog_change();

-- A server left or came back: its enabled modules leave or rejoin the counts.
CREATE FUNCTION module_adoption_on_guild_activity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_adoption AS a (module, enabled_guilds)
    SELECT module, CASE WHEN NEW.left_at IS NULL THEN 1 ELSE -1 END
      FROM cog_settings WHERE guild_id = NEW.id AND enabled
     ORDER BY module
    ON CONFLICT (module) DO UPDATE SET enabled_guilds = a.enabled_guilds + EXCLUDED.enabled_guilds;
    RETURN NULL;
END
$$;
CREATE TRIGGER guilds_module_adoption
    AFTER UPDATE OF left_at ON guilds
    FOR EACH ROW WHEN ((OLD.left_at IS NULL) IS DISTINCT FROM (NEW.left_at IS NULL))
    EXECUTE FUNCTION module_adoption_on_guild_activity();

-- A server row deleted outright: remove its module rows first, while the server
-- still counts as active, so the counts drop exactly once.
CREATE FUNCTION module_adoption_on_guild_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cog_settings WHERE guild_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER guilds_module_adoption_delete
    BEFORE DELETE ON guilds
    FOR EACH ROW EXECUTE FUNCTION module_adoption_on_guild_delete();

INSERT INTO module_adoption (module, enabled_guilds)
SELECT c.module, count(*) FILTER (WHERE c.enabled AND g.left_at IS NULL)
  FROM cog_settings c JOIN guilds g ON g.id = c.guild_id
 GROUP BY c.module;
