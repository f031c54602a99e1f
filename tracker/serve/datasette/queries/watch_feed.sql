SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
       c.publishers, w.changed_at AS updated_at, w.added, w.first_matched_at
FROM watches x JOIN watch_stories w ON w.watch_id = x.id JOIN clusters c ON c.id = w.story_id
-- the stories the watch alerted on (new or grown since it was added), not those it found at first
WHERE x.name = :watch AND c.merged_into IS NULL AND w.added <> '[]'
ORDER BY c.last_seen DESC, c.id DESC
LIMIT 50
