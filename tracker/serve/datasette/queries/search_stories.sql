SELECT * FROM (
-- Stories of the 5,000 most recently found matching articles (see search.sql: ranking every match
-- of a common word costs seconds at a million articles). The matches are read once, newest rowid
-- first (FTS5 walks its index backwards), with their rank, into `m`: search.sql reads them twice
-- (once for the 5,000th rowid, once to rank), which it must, as its snippet() needs the FTS cursor.
-- The rank (bm25, some 5 µs a match) is only computed for a best-match search: by date it is unused.
  WITH m AS (
    SELECT rowid AS id, CASE WHEN :sort IN ('newest', 'oldest') THEN 0 ELSE rank END AS rank
    FROM articles_fts
    WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 5000)
  SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
         c.publishers, COUNT(*) AS matching_articles
  FROM m JOIN articles a ON a.id = m.id JOIN clusters c ON c.id = a.cluster_id
  WHERE c.merged_into IS NULL
  GROUP BY c.id
  ORDER BY CASE WHEN :sort = 'newest' THEN c.last_seen END DESC,
           CASE WHEN :sort = 'oldest' THEN c.first_seen END, MIN(m.rank), c.id DESC
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
