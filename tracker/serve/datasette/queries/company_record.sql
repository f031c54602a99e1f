SELECT * FROM (
    -- A company's record: its decisions (every stage of every case) and the stories naming it, in
    -- date order. ?company= a taxonomy id (clearview-ai, meta) or its label.
    SELECT d.decided AS date, 'decision' AS entry, d.id AS decision_id, d.case_id, d.stage,
           d.kind || CASE WHEN d.amount IS NULL THEN ''
                          ELSE ' ' || printf('%,d', CAST(d.amount AS INTEGER)) || ' ' || d.currency END
               || COALESCE(' by ' || d.authority_label, '') AS what,
           d.amount_eur, NULL AS story_id
    FROM decisions d WHERE d.target = lower(:company) OR d.target_label = :company
    UNION ALL
    SELECT substr(c.first_seen, 1, 10), 'story', NULL, NULL, NULL, c.headline, NULL, c.id
    FROM clusters c
    WHERE c.merged_into IS NULL AND c.id IN (
        SELECT a.cluster_id FROM article_tags t JOIN articles a ON a.id = t.article_id
        WHERE t.kind = 'company' AND (t.tag = lower(:company) OR t.label = :company))
)
ORDER BY date, entry, COALESCE(decision_id, story_id)
LIMIT 1000
