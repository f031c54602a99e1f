SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
       COUNT(*) AS articles_by_publisher
FROM articles a JOIN clusters c ON c.id = a.cluster_id
WHERE a.publisher IN (SELECT DISTINCT publisher FROM articles
                      WHERE publisher = TRIM(:publisher) COLLATE NOCASE)
  AND c.merged_into IS NULL
GROUP BY c.id
ORDER BY c.last_seen DESC, c.id DESC
