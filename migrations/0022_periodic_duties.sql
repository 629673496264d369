-- Housekeeping that one process does for all (retention: deleting old logs
-- and events, the module adoption recount). Each row says when the duty is
-- next due; the process that moves `due_at` on runs that pass, so however
-- many processes run, each pass runs once.
CREATE TABLE periodic_duties (
    duty text PRIMARY KEY,
    due_at timestamptz NOT NULL,
    last_run_by bigint,
    last_run_at timestamptz
);

INSERT INTO periodic_duties (duty, due_at) VALUES ('retention', now());
