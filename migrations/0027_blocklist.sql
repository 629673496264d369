-- A bot-wide blocklist of servers and users (issue "The controls bot owners
-- ask for most", item 2). A blocked server is left, and left again whenever
-- it adds the bot back; a blocked user's commands, buttons and forms are
-- refused. Every process holds the list in memory (the checks run on every
-- interaction and gateway event), told of each change by NOTIFY.
CREATE TABLE blocklist (
    kind     TEXT        NOT NULL CHECK (kind IN ('server', 'user')),
    id       BIGINT      NOT NULL CHECK (id > 0),
    reason   TEXT        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    added_by BIGINT      NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
-- `/admin blocklist list`, newest first.
CREATE INDEX blocklist_newest ON blocklist (added_at DESC, kind, id);

CREATE FUNCTION notify_blocklist_change() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('admin_panel_blocklist', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER blocklist_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON blocklist
    FOR EACH STATEMENT EXECUTE FUNCTION notify_blocklist_change();
