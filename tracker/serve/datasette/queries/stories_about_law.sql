SELECT t.story_id, t.headline, t.last_seen, t.label AS law, t.articles AS articles_naming_it,
       t.relevance
FROM story_tags t
WHERE t.kind = 'law' AND (t.tag = lower(:law) OR t.label LIKE '%' || :law || '%')
ORDER BY t.last_seen DESC, t.story_id DESC
LIMIT 500
