-- Users, API tokens, the eventlog and platform settings.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT UNIQUE,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    fallback_email TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'usermanager', 'mailmanager', 'user')),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    source TEXT NOT NULL DEFAULT '',
    invite_accepted INTEGER NOT NULL DEFAULT 1 CHECK (invite_accepted IN (0, 1)),
    creation_time TEXT NOT NULL
) STRICT;

-- There is exactly one owner: concurrent activations race on this index and all but one lose.
CREATE UNIQUE INDEX users_one_owner ON users (role) WHERE role = 'owner';

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the secret; the secret itself is never stored.
    hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires INTEGER NOT NULL,
    last_used_at TEXT,
    creation_time TEXT NOT NULL
) STRICT;

CREATE INDEX tokens_user ON tokens (user_id, creation_time);

CREATE TABLE eventlog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    data TEXT NOT NULL,
    creation_time TEXT NOT NULL
) STRICT;

CREATE INDEX eventlog_action ON eventlog (action, seq);

CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
