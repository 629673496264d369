-- /admin stats compares the last 24 h with the 24 h before: new users and
-- servers joined or left in a time range, read through these indexes instead
-- of scanning every user and server.
CREATE INDEX command_users_first_seen ON command_users (first_seen_at);
CREATE INDEX guilds_joined_at ON guilds (joined_at);
CREATE INDEX guilds_left_at ON guilds (left_at) WHERE left_at IS NOT NULL;
