SELECT COALESCE(authority_label, '(no authority named)') AS regulator,
-- Per authority: its decisions (not the articles reporting them), their total and largest in EUR at
-- each decision's date. A case's replaced stages (a rejected settlement, a fine reduced on appeal)
-- and intended fines are left out of the total unless ?kind= asks for them.
       authority AS authority_id,
       COUNT(*) AS decisions,
       ROUND(SUM(amount_eur)) AS total_eur,
       ROUND(MAX(amount_eur)) AS largest_eur,
       MIN(decided) AS first,
       MAX(decided) AS last,
       SUM(reports) AS reports
FROM decisions
WHERE ((:kind = '' AND counted = 1) OR kind = :kind)
GROUP BY authority
ORDER BY total_eur DESC NULLS LAST, decisions DESC
