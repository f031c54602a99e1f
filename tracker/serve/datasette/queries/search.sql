SELECT * FROM (
-- Ranked (or dated) among the 5,000 most recently found matching articles: ranking every match of
-- a common word costs seconds at a million articles, the newest 5,000 some milliseconds.
  SELECT a.id AS article_id, a.published, a.title, a.publisher,
         snippet(articles_fts, -1, '[', ']', ' … ', 16) AS snippet,
         a.cluster_id AS story_id, a.url
  FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
  WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q)
    AND articles_fts.rowid >= COALESCE((SELECT rowid FROM articles_fts WHERE articles_fts
        MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 1 OFFSET 4999), 0)
  ORDER BY CASE WHEN :sort = 'newest' THEN a.published END DESC,
           CASE WHEN :sort = 'oldest' THEN a.published END, articles_fts.rank, a.id
  LIMIT 200)
UNION ALL
SELECT * FROM (
  SELECT a.id, a.published, a.title, a.publisher, substr(a.excerpt, 1, 240), a.cluster_id, a.url
  FROM articles a WHERE fts_query(:q) = '' AND :sort <> 'oldest'
  ORDER BY a.published DESC, a.id DESC LIMIT 200)
UNION ALL
SELECT * FROM (
  SELECT a.id, a.published, a.title, a.publisher, substr(a.excerpt, 1, 240), a.cluster_id, a.url
  FROM articles a WHERE fts_query(:q) = '' AND :sort = 'oldest' AND a.published IS NOT NULL
  ORDER BY a.published, a.id LIMIT 200)
