-- Memory hygiene, as SQLite's migration 009: deduplication keys, pinned memories, a bounded history of each
-- memory, and webhooks whose deliveries follow the change log.
--
-- text_key  a hash of the memory's normalized text (NFKC, case-folded, whitespace collapsed), so that a write
--           finds a live memory with the same text inside its own transaction (under the namespace's row lock)
-- pinned    never forgotten by retention or a forgetting policy (an expiry still applies); first in /context

ALTER TABLE memories ADD COLUMN text_key TEXT;
ALTER TABLE memories ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT false;

CREATE INDEX memories_by_text_key ON memories (namespace_id, text_key) WHERE text_key IS NOT NULL;
CREATE INDEX memories_pinned ON memories (namespace_id, label) WHERE pinned;

-- `text` and `metadata` hold the previous version for `updated` events only; a removal deletes every event of
-- the memory and leaves one tombstone (op, at, reason), never the text.
CREATE TABLE memory_history (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  memory_id    TEXT   NOT NULL,
  seq          BIGINT NOT NULL,
  at           BIGINT NOT NULL,
  op           TEXT   NOT NULL CHECK (op IN ('created', 'updated', 'deduplicated', 'expired', 'forgotten')),
  reason       TEXT,
  text         TEXT,
  metadata     JSONB,
  similarity   DOUBLE PRECISION
);

CREATE INDEX memory_history_by_memory ON memory_history (namespace_id, memory_id, id);

CREATE TABLE webhooks (
  id          TEXT   PRIMARY KEY,
  url         TEXT   NOT NULL,
  namespaces  JSONB  NOT NULL,
  events      JSONB  NOT NULL,
  secret      TEXT   NOT NULL,
  created_at  BIGINT NOT NULL
);

CREATE TABLE webhook_cursors (
  webhook_id      TEXT   NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  namespace_id    BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  delivered_seq   BIGINT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_at         BIGINT NOT NULL DEFAULT 0,
  last_attempt_at BIGINT,
  last_error      TEXT,
  PRIMARY KEY (webhook_id, namespace_id)
);
