-- Every process keeps the developer list in memory, so the access check on a
-- command, button or modal needs no database round trip. Any change to the
-- table (through /admin developers or by hand) tells every process at once.
CREATE FUNCTION notify_developer_change() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('admin_panel_developers', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER developers_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON developers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_developer_change();
