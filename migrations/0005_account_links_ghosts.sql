-- Invite and password reset links, temporary (ghost) passwords, and sessions opened with one.

-- The secret of an invite or reset link: only its SHA-256 is kept; it works once, until `expires`
-- (epoch ms).
CREATE TABLE account_tokens (
    hash BLOB PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    expires INTEGER NOT NULL,
    creation_time TEXT NOT NULL
) STRICT;

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, expires);

-- An admin's temporary password for logging in as a user of a lower role (`/users/{id}/ghost`):
-- argon2id, one per user, it works once, until `expires` (epoch ms).
CREATE TABLE ghosts (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    expires INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creation_time TEXT NOT NULL
) STRICT;

-- The admin behind a session opened with a ghost password; such a session dies with the admin.
ALTER TABLE tokens ADD COLUMN impersonator_id TEXT REFERENCES users (id) ON DELETE CASCADE;

-- Whatever changes a password (the user, an admin, the operator CLI, an invite or a reset) ends
-- every outstanding link of that user; so does deactivation, which also ends a ghost password.
CREATE TRIGGER account_tokens_end_with_password AFTER UPDATE OF password_hash ON users
BEGIN
    DELETE FROM account_tokens WHERE user_id = NEW.id;
END;

CREATE TRIGGER account_links_end_with_deactivation AFTER UPDATE OF active ON users
WHEN NEW.active = 0
BEGIN
    DELETE FROM account_tokens WHERE user_id = NEW.id;
    DELETE FROM ghosts WHERE user_id = NEW.id;
END;
