-- API keys: only a SHA-256 of each key is stored. A key is valid while revoked_at is NULL.

CREATE TABLE api_keys (
  id          TEXT    PRIMARY KEY,
  hash        TEXT    NOT NULL UNIQUE,
  role        TEXT    NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  -- JSON array of namespace patterns ('*' matches any run of characters)
  namespaces  TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
