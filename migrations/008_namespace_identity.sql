-- A namespace's public identity and description: a UUID that stays with it through a rename (Chroma's
-- collection id), metadata of the caller's (a JSON object), and, for a namespace without embedder, dimensions
-- that the first write may decide (dimensions_open = 1 until then; `dimensions` holds a placeholder).

ALTER TABLE namespaces ADD COLUMN uid TEXT;
ALTER TABLE namespaces ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE namespaces ADD COLUMN dimensions_open INTEGER NOT NULL DEFAULT 0;

-- Version 4 UUIDs for the namespaces that exist already.
UPDATE namespaces SET uid = lower(
  hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))
);

CREATE UNIQUE INDEX namespaces_by_uid ON namespaces (uid);
