-- A stack's state: updates, their engine events, the deployment of each version, and
-- the stack's wrapped secrets data key. Everything is keyed by the stack's id, so a
-- rename or transfer keeps it and deleting the stack deletes it.

ALTER TABLE stacks ADD COLUMN last_update BIGINT;
ALTER TABLE stacks ADD COLUMN resource_count BIGINT;

CREATE TABLE stack_updates (
    id                TEXT PRIMARY KEY,
    stack_id          TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created           BIGINT NOT NULL,
    started           BIGINT NOT NULL,
    ended             BIGINT NOT NULL,
    actor_user_id     TEXT,
    actor_token_id    TEXT,
    actor_login       TEXT NOT NULL,
    actor_name        TEXT NOT NULL,
    request           TEXT NOT NULL,
    lease_hash        TEXT,
    lease_expires     BIGINT NOT NULL,
    resource_changes  TEXT
);
CREATE INDEX stack_updates_stack ON stack_updates(stack_id, created);
CREATE INDEX stack_updates_version ON stack_updates(stack_id, version);
-- One running update that writes state per stack; previews do not hold the stack.
CREATE UNIQUE INDEX stack_updates_one_active ON stack_updates(stack_id)
    WHERE status = 'running' AND kind <> 'preview';

CREATE TABLE stack_update_events (
    update_id  TEXT NOT NULL REFERENCES stack_updates(id) ON DELETE CASCADE,
    sequence   BIGINT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (update_id, sequence)
);

CREATE TABLE stack_checkpoints (
    stack_id        TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    update_id       TEXT,
    schema_version  BIGINT NOT NULL,
    features        TEXT,
    deployment      BYTEA NOT NULL,
    resource_count  BIGINT NOT NULL,
    saved           BIGINT NOT NULL,
    PRIMARY KEY (stack_id, version)
);

CREATE TABLE stack_keys (
    stack_id       TEXT PRIMARY KEY REFERENCES stacks(id) ON DELETE CASCADE,
    wrapped        BYTEA NOT NULL,
    master_key_id  TEXT NOT NULL,
    created        BIGINT NOT NULL
);
