-- Which weights made a namespace's vectors, and background jobs (re-embedding) with their staged vectors.

ALTER TABLE namespaces ADD COLUMN embedder_revision TEXT;

CREATE TABLE jobs (
  id           TEXT    PRIMARY KEY,
  kind         TEXT    NOT NULL,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  status       TEXT    NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  done         INTEGER NOT NULL DEFAULT 0,
  total        INTEGER NOT NULL,
  params       TEXT    NOT NULL DEFAULT '{}',
  error        TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

-- Vectors a re-embedding job has made and not yet swapped in.
CREATE TABLE staged_vectors (
  job_id TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  label  INTEGER NOT NULL,
  vector BLOB    NOT NULL,
  PRIMARY KEY (job_id, label)
) WITHOUT ROWID;
