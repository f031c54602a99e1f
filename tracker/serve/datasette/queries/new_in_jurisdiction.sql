SELECT s.id AS story_id, s.headline, s.first_seen, s.last_seen, s.n_articles, s.relevance
FROM story_lens s
WHERE s.first_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), '7') || ' days')
  AND s.id IN (SELECT story_id FROM story_tag_links WHERE tag IN (
      SELECT tag FROM lens_tags WHERE kind = 'jurisdiction' AND (tag = lower(:jurisdiction) OR label = :jurisdiction)))
ORDER BY s.relevance DESC, s.first_seen DESC, s.id DESC
LIMIT 500
