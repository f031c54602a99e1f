SELECT * FROM (
-- Stories of the 5,000 most recently found matching articles (see search.sql: ranking every match
-- of a common word costs seconds at a million articles).
  SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
         c.publishers, COUNT(*) AS matching_articles
  FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid JOIN clusters c ON c.id = a.cluster_id
  WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q) AND c.merged_into IS NULL
    AND articles_fts.rowid >= COALESCE((SELECT rowid FROM articles_fts WHERE articles_fts
        MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 1 OFFSET 4999), 0)
  GROUP BY c.id
  ORDER BY CASE WHEN :sort = 'newest' THEN c.last_seen END DESC,
           CASE WHEN :sort = 'oldest' THEN c.first_seen END, MIN(articles_fts.rank), c.id DESC
  LIMIT 200)
UNION ALL
SELECT * FROM (
  SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers, NULL
  FROM clusters WHERE merged_into IS NULL AND fts_query(:q) = '' AND :sort <> 'oldest'
  ORDER BY last_seen DESC, id DESC LIMIT 200)
UNION ALL
SELECT * FROM (
  SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers, NULL
  FROM clusters WHERE merged_into IS NULL AND fts_query(:q) = '' AND :sort = 'oldest'
    AND first_seen IS NOT NULL
  ORDER BY first_seen, id LIMIT 200)
