-- Forgetting: each memory's importance, strength, recalls and expiry; the record of pruning runs.
-- Retention R = exp(−Δt / (strength · τ)), Δt since the last recall or, never recalled, since the write.

ALTER TABLE memories ADD COLUMN importance REAL;
ALTER TABLE memories ADD COLUMN strength REAL NOT NULL DEFAULT 1;
ALTER TABLE memories ADD COLUMN recall_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memories ADD COLUMN last_recalled_at INTEGER;
ALTER TABLE memories ADD COLUMN expires_at INTEGER;

CREATE INDEX memories_by_expiry ON memories (namespace_id, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE forget_runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  at           INTEGER NOT NULL,
  trigger      TEXT    NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
  expired      INTEGER NOT NULL,
  forgotten    INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL
);

CREATE INDEX forget_runs_by_namespace ON forget_runs (namespace_id, at);
