-- membank schema v1: namespaces, memories (vectors as float32 BLOBs), and the change log that index
-- checkpoints are measured against.

CREATE TABLE namespaces (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  name                 TEXT    NOT NULL UNIQUE,
  space                TEXT    NOT NULL CHECK (space IN ('cosine', 'l2', 'ip')),
  dimensions           INTEGER NOT NULL CHECK (dimensions > 0),
  embedder             TEXT,
  hnsw_m               INTEGER NOT NULL,
  hnsw_ef_construction INTEGER NOT NULL,
  hnsw_ef_search       INTEGER NOT NULL,
  created_at           INTEGER NOT NULL
);

-- `label` is the memory's label in its namespace's HNSW index. AUTOINCREMENT: a label is never reused, so a
-- stale index entry can never point at another memory.
CREATE TABLE memories (
  label        INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  id           TEXT    NOT NULL,
  text         TEXT,
  metadata     TEXT    NOT NULL DEFAULT '{}',
  vector       BLOB    NOT NULL,
  event_at     INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  document_id  TEXT,
  chunk_index  INTEGER,
  -- change sequence of the last write to this row; index replay reads rows with seq above a checkpoint
  seq          INTEGER NOT NULL,
  UNIQUE (namespace_id, id)
);

CREATE INDEX memories_by_seq ON memories (namespace_id, seq);
CREATE INDEX memories_by_document ON memories (namespace_id, document_id, chunk_index) WHERE document_id IS NOT NULL;

-- Labels removed since the namespace's last index checkpoint (trimmed after each checkpoint).
CREATE TABLE deletions (
  seq          INTEGER NOT NULL,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  label        INTEGER NOT NULL
);

CREATE INDEX deletions_by_seq ON deletions (namespace_id, seq);

CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES ('seq', 0);
