-- Module settings are written by host bots through `admin_panel::modules`
-- (which caps them at 4 KiB of compact JSON and requires an object) and by
-- `/settings module ... message:`. This is the database's backstop for any
-- other writer: an object, and at most 8 KiB in PostgreSQL's text form (which
-- adds spaces, hence looser than the library's cap). NOT VALID: existing rows
-- are not scanned (no long lock on a table with a row per server and module);
-- every new or updated row is checked.
ALTER TABLE cog_settings
    ADD CONSTRAINT cog_settings_settings_bounded
    CHECK (jsonb_typeof(settings) = 'object' AND octet_length(settings::text) <= 8192) NOT VALID;

-- `/settings managers` writes `dashboard_users`: at most 25 per server, one
-- row each, so the primary key (guild_id, user_id) serves every query.
