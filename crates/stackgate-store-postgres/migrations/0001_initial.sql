-- stackgate initial schema (PostgreSQL). Append-only: never edit a landed migration.
--
-- The same tables, columns, constraints and indexes as the SQLite backend's 0001, in
-- PostgreSQL types: BIGINT for times, sequence numbers and counters, BOOLEAN for flags,
-- JSONB for org settings (decoded by serde in the application, like on SQLite).
--
-- Columns that listings order by or page through with keyset cursors (logins, org,
-- team, project and stack names, token ids) use the "C" collation: byte order, as
-- SQLite's BINARY compares, so both backends list in the same order whatever the
-- database's default locale is.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    login       TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    password_hash TEXT,              -- argon2id PHC string; NULL: no console sign-in
    site_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    created     BIGINT NOT NULL
);

CREATE TABLE orgs (
    id        TEXT PRIMARY KEY,
    name      TEXT COLLATE "C" NOT NULL UNIQUE,
    created   BIGINT NOT NULL,
    settings  JSONB NOT NULL          -- see OrgSettings
);

CREATE TABLE memberships (
    org_id   TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL,          -- admin | member | billing-manager
    created  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE teams (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          TEXT COLLATE "C" NOT NULL,
    display_name  TEXT NOT NULL,
    description   TEXT NOT NULL,
    created       BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL,          -- member | admin
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE stacks (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    project           TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL,
    creator_user_id   TEXT,
    creator_token_id  TEXT,
    created           BIGINT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, project, name)
);

CREATE TABLE stack_tags (
    stack_id  TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (stack_id, name)
);
CREATE INDEX stack_tags_name_value ON stack_tags(name, value);

CREATE TABLE team_stacks (
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    stack_id    TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    permission  BIGINT NOT NULL,     -- 0 | 101 | 102 | 103 | 104
    PRIMARY KEY (team_id, stack_id)
);
CREATE INDEX team_stacks_stack ON team_stacks(stack_id);

CREATE TABLE tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,      -- personal | organization | team
    hash         TEXT NOT NULL UNIQUE, -- SHA-256 hex of the value; the value is never stored
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    org_id       TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    team_id      TEXT REFERENCES teams(id) ON DELETE SET NULL,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by   TEXT NOT NULL,
    created      BIGINT NOT NULL,
    expires      BIGINT NOT NULL,    -- 0 = never
    last_used    BIGINT NOT NULL DEFAULT 0,
    deleted_at   BIGINT
);
-- Org and team token names are unique per org, deleted tokens included.
CREATE UNIQUE INDEX tokens_org_name ON tokens(org_id, name) WHERE kind <> 'personal';
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_team ON tokens(team_id);

CREATE TABLE audit_events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           TEXT NOT NULL,
    seq              BIGINT NOT NULL,   -- position in the org's hash chain, from 1
    timestamp        BIGINT NOT NULL,
    event            TEXT NOT NULL,
    description      TEXT NOT NULL,
    user_login       TEXT NOT NULL,
    user_name        TEXT NOT NULL,
    user_email       TEXT NOT NULL,
    token_id         TEXT,
    token_name       TEXT,
    source_ip        TEXT NOT NULL,
    req_org_admin    BOOLEAN NOT NULL,
    req_stack_admin  BOOLEAN NOT NULL,
    auth_failure     BOOLEAN NOT NULL,
    prev_hash        TEXT NOT NULL,     -- hash of the org's previous event ('' for the first)
    hash             TEXT NOT NULL,     -- SHA-256 over the canonical encoding, see stackgate-core chain.rs
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_events_org_event ON audit_events(org_id, event, seq);
CREATE INDEX audit_events_org_user ON audit_events(org_id, user_login, seq);
CREATE INDEX audit_events_org_token ON audit_events(org_id, token_id, seq);
CREATE INDEX audit_events_org_time ON audit_events(org_id, timestamp);

-- The head of each org's audit chain, and where pruning cut it. Writers lock their
-- org's row (SELECT ... FOR UPDATE) before appending, so appends serialise per org
-- across every replica.
CREATE TABLE audit_heads (
    org_id       TEXT PRIMARY KEY,
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    pruned_seq   BIGINT NOT NULL DEFAULT 0,    -- last pruned event (0: nothing pruned)
    pruned_hash  TEXT NOT NULL DEFAULT ''      -- its hash: the next event's prev_hash
);

-- Console sign-in sessions; only the SHA-256 of the cookie's session id is stored.
CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created     BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    expires     BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires);
