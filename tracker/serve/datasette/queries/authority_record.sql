SELECT * FROM (
    -- An authority's record: its decisions and the stories naming it, in date order. ?authority= a
    -- taxonomy id (ico, cnil, ftc) or its label.
    SELECT d.decided AS date, 'decision' AS entry, d.id AS decision_id, d.case_id, d.stage,
           d.kind || CASE WHEN d.amount IS NULL THEN ''
                          ELSE ' ' || printf('%,d', CAST(d.amount AS INTEGER)) || ' ' || d.currency END
               || COALESCE(' on ' || d.target_label, '') AS what,
           d.amount_eur, NULL AS story_id
    FROM decisions d WHERE d.authority = lower(:authority) OR d.authority_label = :authority
    UNION ALL
    SELECT substr(c.first_seen, 1, 10), 'story', NULL, NULL, NULL, c.headline, NULL, c.id
    FROM clusters c
    WHERE c.merged_into IS NULL AND c.id IN (
        SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
        WHERE t.kind = 'regulator' AND (t.tag = lower(:authority) OR t.label = :authority))
)
ORDER BY date, entry, COALESCE(decision_id, story_id)
LIMIT 1000
