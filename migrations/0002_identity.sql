-- Two-factor authentication, avatars, app passwords and uploaded images.

-- The TOTP secret (base32) is set by the secret call and switched on by enable.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1));
-- The last TOTP time step accepted: a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- '' (none), 'gravatar' or 'custom' (an image named avatar/<user id>).
ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '' CHECK (avatar IN ('', 'gravatar', 'custom'));

CREATE TABLE app_passwords (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    identifier TEXT NOT NULL,
    -- SHA-256 of a 128-bit random password; the password itself is never stored.
    hash BLOB NOT NULL UNIQUE,
    creation_time TEXT NOT NULL,
    UNIQUE (user_id, identifier, name)
) STRICT;

-- Uploaded images, validated by content: avatar/<user id>, background/<user id>, cloudron_avatar.
CREATE TABLE images (
    name TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    etag TEXT NOT NULL,
    data BLOB NOT NULL
) STRICT;
