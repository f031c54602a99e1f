SELECT COALESCE(regulator, '(no regulator named)') AS regulator,
       COUNT(*) AS amounts,
       ROUND(SUM(amount_eur)) AS total_eur,
       ROUND(MAX(amount_eur)) AS largest_eur,
       MIN(date) AS first,
       MAX(date) AS last,
       COUNT(DISTINCT story_id) AS stories
FROM enforcement
-- totals ("fines top $126M") add many penalties up: counted only when asked for by ?kind=total
WHERE ((:kind = '' AND kind != 'total') OR kind = :kind)
GROUP BY 1
ORDER BY total_eur DESC NULLS LAST, amounts DESC
