SELECT c.id AS story_id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers,
       c.publishers, c.updated_at
FROM clusters c JOIN story_lens s ON s.id = c.id
-- the stored lens (story_tag_links, lens_tags: tracker/store/lensfacets.py), read by index
WHERE c.merged_into IS NULL AND c.id IN (
    SELECT story_id FROM story_tag_links
    WHERE tag IN (SELECT tag FROM lens_tags WHERE tag = lower(:tag) OR label = :tag))
  AND COALESCE(s.relevance, 0) >= CAST(COALESCE(NULLIF(:min_relevance, ''), '0') AS REAL)
ORDER BY c.last_seen DESC, c.id DESC
LIMIT 50
