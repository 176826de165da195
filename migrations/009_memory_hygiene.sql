-- Memory hygiene: deduplication keys, pinned memories, a bounded history of each memory, and webhooks
-- whose deliveries follow the change log.
--
-- text_key   a hash of the memory's normalized text (NFKC, case-folded, whitespace collapsed), so that a write
--            finds a live memory with the same text inside its own transaction; NULL for memories without text
--            (and for those written before this migration, until they are written again)
-- pinned     never forgotten by retention or a forgetting policy (an expiry still applies); first in /context

ALTER TABLE memories ADD COLUMN text_key TEXT;
ALTER TABLE memories ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;

CREATE INDEX memories_by_text_key ON memories (namespace_id, text_key) WHERE text_key IS NOT NULL;
CREATE INDEX memories_pinned ON memories (namespace_id, label) WHERE pinned = 1;

-- Events of each memory, written in the transaction of the change. `text` and `metadata` hold the previous
-- version for `updated` events only; a removal deletes every event of the memory and leaves one tombstone
-- (op, at, reason), never the text.
CREATE TABLE memory_history (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  memory_id    TEXT    NOT NULL,
  seq          INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  op           TEXT    NOT NULL CHECK (op IN ('created', 'updated', 'deduplicated', 'expired', 'forgotten')),
  reason       TEXT,
  text         TEXT,
  metadata     TEXT,
  similarity   REAL
);

CREATE INDEX memory_history_by_memory ON memory_history (namespace_id, memory_id, id);

-- Webhooks (admin keys manage them) and, per webhook and namespace, how far deliveries have gone in the
-- namespace's change log: the log is the outbox, so a write does no work for webhooks and deliveries survive
-- restarts.
CREATE TABLE webhooks (
  id          TEXT    PRIMARY KEY,
  url         TEXT    NOT NULL,
  namespaces  TEXT    NOT NULL,
  events      TEXT    NOT NULL,
  secret      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE webhook_cursors (
  webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  namespace_id    INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  delivered_seq   INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_at         INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_error      TEXT,
  PRIMARY KEY (webhook_id, namespace_id)
) WITHOUT ROWID;
