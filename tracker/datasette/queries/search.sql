SELECT a.id AS article_id, a.published, a.title, a.publisher,
       snippet(articles_fts, -1, '[', ']', ' … ', 12) AS snippet,
       a.cluster_id AS story_id, a.url
FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH escape_fts(:q)
ORDER BY articles_fts.rank
LIMIT 200
