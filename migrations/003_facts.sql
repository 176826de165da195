-- Triple-style facts <subject, predicate, object>, kept with their history: a superseded fact is closed
-- (valid_to, invalidated_at, superseded_by), never deleted. *_key columns hold the normalized forms that
-- reads match on.

ALTER TABLE namespaces ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

CREATE TABLE facts (
  rowid_         INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT    NOT NULL UNIQUE,
  namespace_id   INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  subject        TEXT    NOT NULL,
  predicate      TEXT    NOT NULL,
  object         TEXT    NOT NULL,
  subject_key    TEXT    NOT NULL,
  predicate_key  TEXT    NOT NULL,
  object_key     TEXT    NOT NULL,
  confidence     REAL,
  source         TEXT,
  valid_from     INTEGER,
  valid_to       INTEGER,
  created_at     INTEGER NOT NULL,
  invalidated_at INTEGER,
  superseded_by  TEXT,
  metadata       TEXT    NOT NULL DEFAULT '{}',
  sightings      INTEGER NOT NULL DEFAULT 1,
  last_seen_at   INTEGER NOT NULL
);

CREATE INDEX facts_by_subject ON facts (namespace_id, subject_key, predicate_key, object_key);
CREATE INDEX facts_by_predicate ON facts (namespace_id, predicate_key, object_key);
CREATE INDEX facts_by_object ON facts (namespace_id, object_key);
