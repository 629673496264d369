-- Leaving a server on a developer's request (issue "The controls bot owners
-- ask for most", item 1). The request is stored when it is asked, so the
-- confirmation (a button any process may receive, also after a restart)
-- carries only its id, and the reason is never squeezed into a custom id.
CREATE TABLE forced_leaves (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id     BIGINT      NOT NULL,
    reason       TEXT        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    requested_by BIGINT      NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set by the one press that goes ahead (a second press finds it set);
    -- cleared again if Discord refused, so the question can be answered anew.
    started_by   BIGINT,
    started_at   TIMESTAMPTZ,
    -- Discord answered 204: the bot is out.
    left_at      TIMESTAMPTZ
);
CREATE INDEX forced_leaves_by_guild ON forced_leaves (guild_id, requested_at DESC);
