SELECT c.id AS story_id, c.headline, COALESCE(r.change, 'created') AS change, c.created_at,
       c.updated_at, c.first_seen, c.last_seen, c.n_articles, c.n_publishers, c.publishers
FROM clusters c LEFT JOIN run_stories r ON r.story_id = c.id AND r.run_id = CAST(:run AS INTEGER)
WHERE c.merged_into IS NULL AND (:run = '' OR r.run_id IS NOT NULL)
ORDER BY r.change = 'grew', c.created_at DESC, c.id DESC
LIMIT 1000
