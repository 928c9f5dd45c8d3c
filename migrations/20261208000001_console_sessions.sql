-- The staff console's sessions: the cookie holds a random id, and only its
-- hash is kept here with the staff token it signs in as; signing out
-- deletes the row, so a copied cookie stops working.
CREATE SCHEMA console;

CREATE TABLE console.sessions (
    id_hash    bytea       PRIMARY KEY CHECK (length(id_hash) = 32),
    token      text        NOT NULL CHECK (length(token) <= 8192),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON console.sessions (expires_at);
