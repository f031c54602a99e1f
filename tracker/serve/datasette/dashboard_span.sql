-- The date span every chart of the activity dashboard counts in (substituted for {span} in the
-- charts' queries by tracker/serve/server.py). The From/Until filters set it; left empty:
-- - From defaults to the publication date of the oldest article once the oldest 1% (the `/ 100` below)
--   of dated articles are set aside: those are background pieces that related lists link to (a
--   2013 feature beside 2020 news) or wrong seed dates, and seven of them stretched a 2019-2021
--   axis back to 2013. A percentile, not a fixed year, so it follows the data wherever it starts;
--   the dashboard's "Span" card says how many articles each side were left out. Moved back to
--   its Monday, so that the first week charted is a whole week.
-- - Until defaults to today: a publication date in the future is wrong.
span(since, until) AS (SELECT
  COALESCE(NULLIF(trim(:since), ''),
    (SELECT date(published, 'weekday 0', '-6 days') FROM articles
     WHERE published IS NOT NULL AND published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
     ORDER BY published LIMIT 1 OFFSET (SELECT COUNT(*) / 100 FROM articles
       WHERE published IS NOT NULL AND published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))),
    '0001-01-01'),
  COALESCE(NULLIF(trim(:until), ''), date('now')))
