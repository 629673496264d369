-- The number of active servers, kept in stat_counters by a trigger so /admin
-- stats, /admin modules and the unfiltered server list read one row instead of
-- counting 100,000 guild rows (~10 ms on every view). The counter changes in
-- the same transaction as the guild row, so it cannot drift.
INSERT INTO stat_counters (name, value)
SELECT 'active_guilds', count(*) FROM guilds WHERE left_at IS NULL;

CREATE FUNCTION active_guilds_on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.left_at IS NULL THEN
        delta := delta - 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.left_at IS NULL THEN
        delta := delta + 1;
    END IF;
    IF delta <> 0 THEN
        UPDATE stat_counters SET value = value + delta WHERE name = 'active_guilds';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER guilds_active_count
    AFTER INSERT OR UPDATE OF left_at OR DELETE ON guilds
    FOR EACH ROW EXECUTE FUNCTION active_guilds_on_change();
