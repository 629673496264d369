-- Substring search over server names (/admin servers search:, /admin server
-- autocomplete) with a trigram index, so a search of 100,000 servers does not
-- scan them all. pg_trgm is a trusted extension (PostgreSQL 13+) and is on most
-- managed services; where it cannot be installed, search still works, unindexed.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%); server name search will not be indexed', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX guilds_active_name_trigram ON guilds USING gin (name gin_trgm_ops) WHERE left_at IS NULL;
    END IF;
END
$$;
