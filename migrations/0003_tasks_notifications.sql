-- Background tasks and notifications.

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    args TEXT NOT NULL,
    percent INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    message TEXT NOT NULL DEFAULT '',
    -- JSON {"message", "code"?}; code is stopped, crashed or timeout.
    error TEXT,
    result TEXT,
    pending INTEGER NOT NULL DEFAULT 1 CHECK (pending IN (0, 1)),
    active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    success INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    creation_time TEXT NOT NULL,
    ts TEXT NOT NULL
) STRICT;

CREATE INDEX tasks_type ON tasks (type, id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Set for alerts (reboot, boxUpdate, ...): one notification per alert, updated in place.
    alert_id TEXT UNIQUE,
    -- Whether the alert's condition holds; raising a raised alert again changes nothing.
    alert_raised INTEGER NOT NULL DEFAULT 0 CHECK (alert_raised IN (0, 1)),
    event_id TEXT,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    creation_time TEXT NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0 CHECK (acknowledged IN (0, 1))
) STRICT;

CREATE INDEX notifications_acknowledged ON notifications (acknowledged, id);
