-- Buttons that survive a deploy: every control the panel draws is answered
-- from its custom id and the database, by any process. The custom id is
-- signed with a key every process shares (created once, by whichever process
-- starts first); what does not fit in 100 characters (a list's filters) is
-- stored here, under the id the controls carry.
CREATE TABLE panel_secrets (
    name       TEXT        PRIMARY KEY,
    value      BYTEA       NOT NULL CHECK (length(value) >= 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE panel_views (
    id         BIGSERIAL   PRIMARY KEY,
    kind       TEXT        NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
    owner_id   BIGINT      NOT NULL,
    args       JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Retention deletes views a day after they expired.
CREATE INDEX panel_views_expires ON panel_views (expires_at);
