-- What the SQLite schema gained in its migrations 007 and 008 and PostgreSQL's 001 lacks, and the claims of
-- cluster-wide ticks.
--
-- trimmed_seq     the highest change number whose record may have been trimmed away (a cache older than it
--                 reloads rather than replays)
-- generation      advances when every vector is replaced at once (re-embedding): caches reload
-- hnsw_threshold  vectors above which the namespace gets an HNSW graph (NULL: the service's default)
-- uid             the namespace's public id, kept through renames (Chroma's collection id)
-- metadata        the caller's description of the namespace (a JSON object)
-- dimensions_open true until the first write decides the dimensions of a namespace without embedder
--                 (`dimensions` holds a placeholder meanwhile)

ALTER TABLE namespaces ADD COLUMN trimmed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN hnsw_threshold INTEGER;
ALTER TABLE namespaces ADD COLUMN uid TEXT;
ALTER TABLE namespaces ADD COLUMN metadata JSONB NOT NULL DEFAULT '{}';
ALTER TABLE namespaces ADD COLUMN dimensions_open BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE namespaces ALTER COLUMN uid SET DEFAULT gen_random_uuid()::text;
UPDATE namespaces SET uid = DEFAULT WHERE uid IS NULL;
ALTER TABLE namespaces ALTER COLUMN uid SET NOT NULL;
CREATE UNIQUE INDEX namespaces_by_uid ON namespaces (uid);

-- Names compare and sort byte-wise, as in SQLite, whatever the database's collation.
ALTER TABLE namespaces ALTER COLUMN name TYPE TEXT COLLATE "C";

-- Removals since a seq (catching up) and trimming by age.
CREATE INDEX changes_by_time ON changes (at);
-- The scheduler asks which namespaces have something expired, across namespaces.
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;

-- Work that runs once per tick across all nodes, whatever namespace it touches (a schedule's forgetting tick):
-- the node whose `INSERT … ON CONFLICT DO NOTHING` inserts (task, slot) runs it; the others skip it.
CREATE TABLE cluster_claims (
  task       TEXT   NOT NULL,
  slot       BIGINT NOT NULL,
  node       TEXT   NOT NULL,
  claimed_at BIGINT NOT NULL,
  PRIMARY KEY (task, slot)
);
CREATE INDEX cluster_claims_by_time ON cluster_claims (claimed_at);
