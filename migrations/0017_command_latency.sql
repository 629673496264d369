-- Latency and outcome of every command (issue 17, part 1).
--
-- Raw events gain how the invocation ended and how long until its first
-- response; `success` stays (it is `outcome = 0`) so existing readers keep
-- working. Outcome codes: 0 ok, 1 refused by a check, 2 user error,
-- 3 internal error.
ALTER TABLE command_stats
    ADD COLUMN outcome SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN first_response_ms INT4;

-- Rollups count each outcome and keep two latency histograms (see
-- src/store/latency.rs for the fixed log-scale buckets): arrival to the end
-- of the first response, and arrival to completion. Percentiles are read
-- from these, never from raw events. Rows written before this migration have
-- empty histograms and zero outcome counts.
ALTER TABLE command_stats_hourly
    ADD COLUMN refused INT8 NOT NULL DEFAULT 0,
    ADD COLUMN user_errors INT8 NOT NULL DEFAULT 0,
    ADD COLUMN internal_errors INT8 NOT NULL DEFAULT 0,
    ADD COLUMN response_ms INT8[] NOT NULL DEFAULT '{}',
    ADD COLUMN completion_ms INT8[] NOT NULL DEFAULT '{}';
ALTER TABLE command_stats_daily
    ADD COLUMN refused INT8 NOT NULL DEFAULT 0,
    ADD COLUMN user_errors INT8 NOT NULL DEFAULT 0,
    ADD COLUMN internal_errors INT8 NOT NULL DEFAULT 0,
    ADD COLUMN response_ms INT8[] NOT NULL DEFAULT '{}',
    ADD COLUMN completion_ms INT8[] NOT NULL DEFAULT '{}';

-- Element-wise sum of two bucket-count arrays (a shorter array counts as
-- zeros past its end): how a batch adds its histogram to a rollup row.
CREATE FUNCTION admin_panel_add_counts(a INT8[], b INT8[]) RETURNS INT8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
      FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

-- The same as an aggregate: a period's histogram is the sum of its rows'.
CREATE AGGREGATE admin_panel_sum_counts(INT8[]) (
    SFUNC = admin_panel_add_counts,
    STYPE = INT8[],
    INITCOND = '{}'
);
