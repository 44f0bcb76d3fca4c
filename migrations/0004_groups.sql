-- Groups of users (`/groups`), shown by the directory server under ou=groups,dc=cloudron.

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- The name lowercased (Unicode, not only ASCII): names are unique whatever their case, as
    -- LDAP compares them.
    name_key TEXT NOT NULL UNIQUE,
    -- '' for groups made here; groups synced from elsewhere name their origin.
    source TEXT NOT NULL DEFAULT '',
    creation_time TEXT NOT NULL
) STRICT;

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) STRICT;

CREATE INDEX group_members_user ON group_members (user_id);
