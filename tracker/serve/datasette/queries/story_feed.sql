SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
       c.publishers, c.updated_at
FROM clusters c
WHERE c.merged_into IS NULL AND (fts_query(:q) = '' OR c.id IN (
    SELECT a.cluster_id FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
    WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q)
      AND articles_fts.rowid >= COALESCE((SELECT rowid FROM articles_fts WHERE articles_fts
          MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 1 OFFSET 4999), 0)))
ORDER BY c.last_seen DESC, c.id DESC
LIMIT 50
