-- Alerts look for bursts of a command's internal errors in the last minutes.
-- Internal errors are rare, so a partial index on their time is tiny and
-- costs the recorder's inserts nothing for the events that succeed.
CREATE INDEX command_stats_internal_errors ON command_stats (executed_at) WHERE outcome = 3;
