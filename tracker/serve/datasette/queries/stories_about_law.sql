SELECT s.id AS story_id, s.headline, s.last_seen, l.label AS law, l.articles AS articles_naming_it,
       s.relevance
FROM story_tag_links l JOIN story_lens s ON s.id = l.story_id
WHERE l.tag IN (SELECT tag FROM lens_tags WHERE kind = 'law' AND (tag = lower(:law) OR label LIKE '%' || :law || '%'))
ORDER BY s.last_seen DESC, s.id DESC
LIMIT 500
