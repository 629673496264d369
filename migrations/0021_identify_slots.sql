-- Discord lets a bot identify `max_concurrency` shards per 5 s: one per
-- bucket (shard_id % max_concurrency), whichever process runs the shard.
-- One row per bucket holds when its next IDENTIFY may go; every process
-- takes its turn here before a shard identifies.
CREATE TABLE gateway_identify_slots (
    max_concurrency integer NOT NULL,
    bucket integer NOT NULL,
    next_at timestamptz NOT NULL,
    PRIMARY KEY (max_concurrency, bucket)
);
