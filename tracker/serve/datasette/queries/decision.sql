SELECT d.case_id, d.stage, d.id AS decision_id, d.decided, d.kind, d.authority_label AS authority,
-- A decision and the other stages of its case, each with every article reporting it (the amount as
-- written (none for an order, ban or reprimand) and the sentence), in date order. ?id= a decision id.
       d.target_label AS organisation, d.jurisdiction_label AS jurisdiction, d.amount, d.currency,
       d.amount_eur, d.counted, d.corrected, a.published, a.publisher, a.title, a.url,
       a.cluster_id AS story_id, r.article_id, NULLIF(r.amount, 0) AS reported_amount,
       CASE WHEN r.amount = 0 THEN NULL ELSE r.currency END AS reported_currency, r.kind AS reported_kind, r.evidence AS sentence
FROM decisions d
JOIN decision_reports r ON r.decision_id = d.id
JOIN articles a ON a.id = r.article_id
WHERE d.case_id = (SELECT case_id FROM decisions WHERE id = CAST(:id AS INTEGER))
ORDER BY d.stage, a.published, a.id
LIMIT 1000
