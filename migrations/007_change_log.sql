-- Per-namespace change sequences and a change log, so that caches of a namespace (its search table and
-- graph, on this node or on another over a shared database) catch up from one number. Keyword search moves
-- into memory (the same BM25 over the same tokens), so the FTS5 table and its triggers go.
--
-- head_seq     the namespace's last change number; every changed memory takes the next one, in the write's
--              transaction (so writers of one namespace are ordered, and numbers have no gaps)
-- trimmed_seq  the highest number whose change record may have been trimmed away
-- generation   advances when every vector is replaced at once (re-embedding): caches reload
-- hnsw_threshold  vectors above which the namespace gets an HNSW graph (NULL: the service's default)

ALTER TABLE namespaces ADD COLUMN head_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN trimmed_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN hnsw_threshold INTEGER;

-- Memories keep the global numbers they were written with, which stay below every namespace's new head.
UPDATE namespaces SET head_seq = (SELECT value FROM counters WHERE name = 'seq'),
                      trimmed_seq = (SELECT value FROM counters WHERE name = 'seq');

CREATE TABLE changes (
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  op           TEXT    NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'expired', 'forgotten', 'erased')),
  memory_id    TEXT    NOT NULL,
  label        INTEGER NOT NULL,
  PRIMARY KEY (namespace_id, seq)
) WITHOUT ROWID;

CREATE INDEX changes_by_time ON changes (at);

DROP TABLE deletions;

DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_update;
DROP TABLE memories_fts;

-- A namespace's memories in label order (loading its search table), and expiry across namespaces (the
-- scheduler asks which namespaces have something expired).
CREATE INDEX memories_by_namespace ON memories (namespace_id);
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;
