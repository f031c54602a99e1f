SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
       c.publishers, c.updated_at
FROM clusters c
WHERE c.merged_into IS NULL AND c.id IN (
    SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
    WHERE t.tag = lower(:tag) OR t.label = :tag)
  AND COALESCE((SELECT MAX(relevance) FROM articles WHERE cluster_id = c.id), 0)
      >= CAST(COALESCE(NULLIF(:min_relevance, ''), '0') AS REAL)
ORDER BY c.last_seen DESC, c.id DESC
LIMIT 50
