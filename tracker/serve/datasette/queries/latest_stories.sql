SELECT id AS story_id, headline, last_seen, first_seen, n_articles, n_publishers, publishers
FROM clusters
WHERE merged_into IS NULL
ORDER BY last_seen DESC, id DESC
LIMIT 100
