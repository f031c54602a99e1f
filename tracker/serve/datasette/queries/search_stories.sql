SELECT * FROM (
-- The beat filter: a story all of whose articles are discovered and off the beat only with ?all=1.
-- Stories of the articles matching the search (as search.sql: text matches among the 5,000 most
-- recently found, read once newest rowid first as FTS5 walks its index backwards, and articles
-- tagged with a taxonomy entry the whole search names). Best match: the story's best article,
-- its text match weighed by relevance to the beat and recency (see search.sql). The rank (bm25,
-- some 5 µs a match) is only computed for a best-match search. 50 per page, ?page= N.
  WITH m AS (
    SELECT rowid AS id, CASE WHEN :sort IN ('newest', 'oldest') THEN 1 ELSE -rank END AS score
    FROM articles_fts
    WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 5000),
  t AS (
    SELECT article_id AS id, COALESCE((SELECT MAX(score) FROM m), 1.0) AS score FROM article_tags
    WHERE tag IN (SELECT tag FROM lens_names WHERE name = lower(trim(:q, ' "')))
    ORDER BY article_id DESC LIMIT 5000),
  hits AS (SELECT id, MAX(score) AS score FROM (SELECT * FROM m UNION ALL SELECT * FROM t) GROUP BY id)
  SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
         c.publishers, COUNT(*) AS matching_articles
  FROM hits h JOIN articles a ON a.id = h.id JOIN clusters c ON c.id = a.cluster_id
  WHERE c.merged_into IS NULL AND (:all = '1' OR EXISTS (SELECT 1 FROM articles b WHERE b.cluster_id = c.id AND b.off_beat IS NOT 1))
  GROUP BY c.id
  ORDER BY CASE WHEN :sort = 'newest' THEN c.last_seen END DESC,
           CASE WHEN :sort = 'oldest' THEN c.first_seen END,
           MAX(h.score * (0.5 + COALESCE(a.relevance, 0))
               * (1 + 1 / (1 + max(0, julianday('now') - COALESCE(julianday(a.published), 0)) / 365))) DESC,
           c.id DESC
  LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
UNION ALL
SELECT * FROM (
  SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers, NULL
  FROM clusters WHERE merged_into IS NULL AND fts_query(:q) = ''
    AND (:all = '1' OR EXISTS (SELECT 1 FROM articles b WHERE b.cluster_id = clusters.id AND b.off_beat IS NOT 1)) AND search_problem(:q) IS NULL
    AND :sort <> 'oldest'
  ORDER BY last_seen DESC, id DESC
  LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
UNION ALL
SELECT * FROM (
  SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers, NULL
  FROM clusters WHERE merged_into IS NULL AND fts_query(:q) = ''
    AND (:all = '1' OR EXISTS (SELECT 1 FROM articles b WHERE b.cluster_id = clusters.id AND b.off_beat IS NOT 1)) AND search_problem(:q) IS NULL
    AND :sort = 'oldest' AND first_seen IS NOT NULL
  ORDER BY first_seen, id
  LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
