SELECT 'tag:privacy-news-tracker,2024:story/' || c.id AS atom_id,
       COALESCE(c.last_seen, c.first_seen, '1970-01-01T00:00:00Z') AS atom_updated,
       COALESCE(c.headline, 'Story ' || c.id) AS atom_title,
       c.n_articles || ' articles from ' || c.n_publishers || ' publishers, first seen '
         || COALESCE(c.first_seen, '?') || ': ' || COALESCE(c.publishers, '') AS atom_content,
       'story?id=' || c.id AS atom_link,
       c.id AS story_id
FROM clusters c
WHERE c.merged_into IS NULL AND c.id IN (
    SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
    WHERE t.tag = lower(:tag) OR t.label = :tag)
  AND COALESCE((SELECT MAX(relevance) FROM articles WHERE cluster_id = c.id), 0)
      >= CAST(COALESCE(NULLIF(:min_relevance, ''), '0') AS REAL)
ORDER BY c.last_seen DESC, c.id DESC
LIMIT 50
