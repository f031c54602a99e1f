SELECT * FROM (
  SELECT c.id AS story_id, c.headline, r.change, c.created_at, c.updated_at, c.first_seen,
         c.last_seen, c.n_articles, c.n_publishers, c.publishers
  FROM run_stories r JOIN clusters c ON c.id = r.story_id
  WHERE r.run_id = CAST(:run AS INTEGER) AND c.merged_into IS NULL
  ORDER BY r.change = 'grew', c.created_at DESC, c.id DESC
  LIMIT 1000)
UNION ALL
SELECT * FROM (
  SELECT id, headline, NULL, created_at, updated_at, first_seen, last_seen, n_articles,
         n_publishers, publishers
  FROM clusters WHERE :run = '' AND merged_into IS NULL
  ORDER BY created_at DESC, id DESC
  LIMIT 1000)
