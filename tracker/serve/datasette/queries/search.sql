SELECT * FROM (
-- The beat filter: discovered articles off the beat (articles.off_beat) only with ?all=1.
-- Articles matching the search: its words in their text (full-text index), or tagged by the lens
-- with a taxonomy entry the whole search names ("BIPA" finds "Illinois biometric privacy law").
-- Among the 5,000 most recently found text matches (ranking every match of a common word costs
-- seconds at a million articles) and 5,000 most recent tag matches. Best match weighs the text
-- match (bm25; a tag match counts as the best text match) by relevance to the beat (x0.5 to x1.5)
-- and by recency (x2 today, x1.5 a year ago). 50 per page, ?page= N.
WITH m AS (
    SELECT rowid AS id, -rank AS score FROM articles_fts
    WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q) ORDER BY rowid DESC LIMIT 5000),
  t AS (
    SELECT article_id AS id, COALESCE((SELECT MAX(score) FROM m), 1.0) AS score FROM article_tags
    WHERE tag IN (SELECT tag FROM lens_names WHERE name = lower(trim(:q, ' "')))
    ORDER BY article_id DESC LIMIT 5000),
  hits AS (SELECT id, MAX(score) AS score FROM (SELECT * FROM m UNION ALL SELECT * FROM t) GROUP BY id)
SELECT a.id AS article_id, a.published, a.title, a.publisher,
       COALESCE((SELECT snippet(articles_fts, -1, '[', ']', ' … ', 16) FROM articles_fts
                 WHERE fts_query(:q) <> '' AND articles_fts MATCH fts_query(:q) AND rowid = a.id),
                substr(a.excerpt, 1, 240)) AS snippet,
       a.cluster_id AS story_id, a.url, round(a.relevance, 2) AS relevance
FROM hits h JOIN articles a ON a.id = h.id
WHERE (:all = '1' OR a.off_beat IS NOT 1)
ORDER BY CASE WHEN :sort = 'newest' THEN a.published END DESC,
         CASE WHEN :sort = 'oldest' THEN a.published END,
         h.score * (0.5 + COALESCE(a.relevance, 0))
           * (1 + 1 / (1 + max(0, julianday('now') - COALESCE(julianday(a.published), 0)) / 365)) DESC,
         a.id DESC
LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
UNION ALL
SELECT * FROM (
  -- nothing to look for: every article by date (not when the search only excluded: see the page)
  SELECT a.id, a.published, a.title, a.publisher, substr(a.excerpt, 1, 240), a.cluster_id, a.url,
         round(a.relevance, 2)
  FROM articles a WHERE fts_query(:q) = '' AND search_problem(:q) IS NULL AND :sort <> 'oldest'
    AND (:all = '1' OR a.off_beat IS NOT 1)
  ORDER BY a.published DESC, a.id DESC
  LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
UNION ALL
SELECT * FROM (
  SELECT a.id, a.published, a.title, a.publisher, substr(a.excerpt, 1, 240), a.cluster_id, a.url,
         round(a.relevance, 2)
  FROM articles a WHERE fts_query(:q) = '' AND search_problem(:q) IS NULL AND :sort = 'oldest'
    AND (:all = '1' OR a.off_beat IS NOT 1)
    AND a.published IS NOT NULL
  ORDER BY a.published, a.id
  LIMIT 50 OFFSET 50 * (max(1, CAST(COALESCE(NULLIF(:page, ''), '1') AS INTEGER)) - 1))
