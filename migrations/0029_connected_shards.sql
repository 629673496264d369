-- Which of a process's shards were connected at its last heartbeat, so any
-- process can say whether the shard holding a server is connected (issue
-- "The controls bot owners ask for most", item 4). NULL: not known (a host
-- bot that starts its shards without telling the panel).
ALTER TABLE bot_instances ADD COLUMN connected_shards INTEGER[];
