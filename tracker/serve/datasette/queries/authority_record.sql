-- An authority's record: its decisions and the stories naming it, in date order. ?authority= a
-- taxonomy id (ico, cnil, ftc) or its label.
WITH authority AS (
    SELECT DISTINCT authority AS tag FROM decisions
    WHERE authority = lower(:authority) OR authority_label = :authority
    UNION SELECT DISTINCT tag FROM article_tags
    WHERE kind = 'regulator' AND (tag = lower(:authority) OR label = :authority)
)
SELECT * FROM (
    SELECT d.decided AS date, 'decision' AS entry, d.id AS decision_id, d.case_id, d.stage,
           d.kind || CASE WHEN d.amount IS NULL THEN ''
                          ELSE ' ' || printf('%,d', CAST(d.amount AS INTEGER)) || ' ' || d.currency END
               || COALESCE(' on ' || d.target_label, '') AS what,
           d.amount_eur, NULL AS story_id
    FROM decisions d WHERE d.authority IN (SELECT tag FROM authority)
    UNION ALL
    SELECT substr(c.first_seen, 1, 10), 'story', NULL, NULL, NULL, c.headline, NULL, c.id
    FROM clusters c
    WHERE c.merged_into IS NULL AND c.id IN (
        SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
        WHERE t.tag IN (SELECT tag FROM authority))
)
ORDER BY date, entry, COALESCE(decision_id, story_id)
LIMIT 1000
