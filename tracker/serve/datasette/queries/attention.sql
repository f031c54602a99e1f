SELECT * FROM (
-- Attention over time: for up to three searches (?q1= ?q2= ?q3=, as on the search pages), the
-- articles and stories per week (weeks start on Monday), and the share of the beat: of the week's
-- articles about privacy regulation (relevance 0.5 or more), the part the search matches. Every
-- match is counted (no 5,000 cap: a count needs no ranking). ?since= ?until= dates (inclusive).
  WITH s(search, q) AS (
      SELECT :q1, fts_query(:q1) UNION ALL SELECT :q2, fts_query(:q2) UNION ALL SELECT :q3, fts_query(:q3)),
    m AS (SELECT DISTINCT s.search, f.rowid AS id FROM s JOIN articles_fts f ON f.articles_fts MATCH s.q
          WHERE s.q <> ''),
    hits AS (
      SELECT m.search, date(a.published, 'weekday 0', '-6 days') AS week, a.cluster_id, a.relevance
      FROM m JOIN articles a ON a.id = m.id
      WHERE a.published >= COALESCE(NULLIF(:since, ''), '0000')
        AND a.published < date(COALESCE(NULLIF(:until, ''), '9999-12-30'), '+1 day')),
    beat AS (
      SELECT date(published, 'weekday 0', '-6 days') AS week, COUNT(*) AS n FROM articles
      WHERE relevance >= 0.5 AND published >= COALESCE(NULLIF(:since, ''), '0000')
        AND published < date(COALESCE(NULLIF(:until, ''), '9999-12-30'), '+1 day')
      GROUP BY week)
  SELECT h.week, h.search, COUNT(*) AS articles, COUNT(DISTINCT h.cluster_id) AS stories,
         SUM(h.relevance >= 0.5) AS beat_articles,
         round(100.0 * SUM(h.relevance >= 0.5) / NULLIF(b.n, 0), 1) AS share_of_beat_pct
  FROM hits h LEFT JOIN beat b ON b.week = h.week
  GROUP BY h.week, h.search
  ORDER BY h.week, h.search
  LIMIT 3000)
