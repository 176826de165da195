-- Full-text search over memories for keyword and hybrid queries (BM25, porter stemming, Unicode folding).
-- Contentless: the text lives in `memories` only; this table holds the inverted index. Triggers keep it in
-- step with `memories` inside the same transaction as every write, delete and namespace delete (cascade).
--   text  the memory's text
--   tags  its metadata strings of at most 64 characters (speaker, user, topic...), so that a query naming
--         one of them can be recognized, and such names weigh little as keywords (they are frequent)
--   ns    'n' || namespace id, so that a search stays inside its namespaces
-- Deletes use FTS5's 'delete' command with the row's old values, which with secure-delete removes the words
-- from the index pages at once (a contentless_delete table would only mark the row deleted, and its words
-- would linger in the file until a merge).

CREATE VIRTUAL TABLE memories_fts USING fts5(
  text, tags, ns,
  tokenize = 'porter unicode61 remove_diacritics 2',
  content = ''
);

INSERT INTO memories_fts (memories_fts, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
  INSERT INTO memories_fts (rowid, text, tags, ns) VALUES (
    new.label,
    coalesce(new.text, ''),
    (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(new.metadata) WHERE type = 'text' AND length(value) <= 64),
    'n' || new.namespace_id
  );
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, text, tags, ns) VALUES (
    'delete',
    old.label,
    coalesce(old.text, ''),
    (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(old.metadata) WHERE type = 'text' AND length(value) <= 64),
    'n' || old.namespace_id
  );
END;

CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, metadata, namespace_id ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, text, tags, ns) VALUES (
    'delete',
    old.label,
    coalesce(old.text, ''),
    (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(old.metadata) WHERE type = 'text' AND length(value) <= 64),
    'n' || old.namespace_id
  );
  INSERT INTO memories_fts (rowid, text, tags, ns) VALUES (
    new.label,
    coalesce(new.text, ''),
    (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(new.metadata) WHERE type = 'text' AND length(value) <= 64),
    'n' || new.namespace_id
  );
END;

INSERT INTO memories_fts (rowid, text, tags, ns)
  SELECT label, coalesce(text, ''),
         (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(memories.metadata) WHERE type = 'text' AND length(value) <= 64),
         'n' || namespace_id
  FROM memories;

-- Conversation order: a memory's neighbours are the memories just before and after it in time.
CREATE INDEX memories_by_time ON memories (namespace_id, event_at, label);
