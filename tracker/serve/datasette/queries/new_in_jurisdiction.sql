SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles,
       (SELECT MAX(relevance) FROM articles WHERE cluster_id = c.id) AS relevance
FROM clusters c
WHERE c.merged_into IS NULL
  AND c.first_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), '7') || ' days')
  AND c.id IN (SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
               WHERE t.kind = 'jurisdiction' AND (t.tag = lower(:jurisdiction) OR t.label = :jurisdiction))
ORDER BY relevance DESC, c.first_seen DESC, c.id DESC
LIMIT 500
