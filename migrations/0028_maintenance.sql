-- Maintenance mode (issue "The controls bot owners ask for most", item 3):
-- every command of the bot but /admin, or one named command, answers a
-- message instead of running. One row per scope: '*' for every command, or
-- a command's name. Every process holds the rows in memory (the check runs
-- on every command), told of each change by NOTIFY; kept across restarts.
CREATE TABLE maintenance (
    command TEXT        PRIMARY KEY CHECK (command = '*' OR command ~ '^[a-z0-9_-]{1,32}( [a-z0-9_-]{1,32}){0,2}$'),
    message TEXT        NOT NULL CHECK (char_length(message) BETWEEN 1 AND 1000),
    since   TIMESTAMPTZ NOT NULL DEFAULT now(),
    set_by  BIGINT      NOT NULL
);

CREATE FUNCTION notify_maintenance_change() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('admin_panel_maintenance', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER maintenance_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON maintenance
    FOR EACH STATEMENT EXECUTE FUNCTION notify_maintenance_change();
