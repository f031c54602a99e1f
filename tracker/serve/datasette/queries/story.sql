SELECT a.published, a.title, a.publisher, a.publisher_domain, a.excerpt, a.url,
       a.id AS article_id, a.language, a.duplicate_of, c.id AS story_id, c.headline AS story_headline
FROM articles a JOIN clusters c ON c.id = a.cluster_id
WHERE a.cluster_id = CAST(:id AS INTEGER)
ORDER BY a.published, a.id
