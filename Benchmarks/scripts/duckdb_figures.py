#!/usr/bin/env python3
"""Computes callsift's base-group counters (docs/metrics.md sections 1-5, default settings,
scope centre, UTC days) from one call-event CSV with DuckDB, and optionally compares them
with a callsift JSON report (`callsift analyze --period day --by service`).

Used by scripts/perf-figures.sh as the side-by-side reference. Simplification, valid for
`callsift generate` data without --dirty: no lateness, and each `arrive` of a call id
starts a new call (generated calls have one arrive each, never last the call timeout, and
reuse an id only more than the call timeout after its previous call began).

usage: duckdb_figures.py FILE [callsift.json]
"""
import json
import sys
import time

import duckdb

W, C, R, S, T = 7 * 86400000, 28 * 86400000, 3600000, 5000, 20000

SQL = f"""
WITH ev AS (
  SELECT CASE WHEN regexp_full_match(ts, '-?[0-9]+') THEN CAST(ts AS BIGINT)
              ELSE epoch_ms(CAST(ts AS TIMESTAMPTZ)) END AS t,
         centre, call, event, caller, service, outcome, reason
  FROM read_csv($file, header = true, all_varchar = true)
),
d AS (SELECT DISTINCT ON (centre, call, event, t) * FROM ev),
g AS (
  SELECT *, CASE event WHEN 'arrive' THEN 0 WHEN 'answer' THEN 1 WHEN 'transfer' THEN 2 ELSE 3 END AS rnk
  FROM d
),
g2 AS (SELECT *, SUM(CASE WHEN event = 'arrive' THEN 1 ELSE 0 END) OVER (PARTITION BY centre, call ORDER BY t, rnk ROWS UNBOUNDED PRECEDING) AS k FROM g),
g3 AS (SELECT *, max(service) FILTER (WHERE event = 'arrive') OVER (PARTITION BY centre, call, k) AS arr_service FROM g2),
calls AS (
  SELECT centre, call, k,
         count(*) FILTER (WHERE event = 'arrive') AS n_arr,
         count(*) FILTER (WHERE event = 'answer') AS n_ans,
         count(*) FILTER (WHERE event IN ('abandon', 'blocked', 'end')) AS n_term,
         min(t) FILTER (WHERE event = 'arrive') AS t,
         min(t) FILTER (WHERE event = 'answer') AS t_ans,
         min(t) FILTER (WHERE event IN ('abandon', 'blocked', 'end')) AS t_term,
         min(event) FILTER (WHERE event IN ('abandon', 'blocked', 'end')) AS term,
         min(caller) FILTER (WHERE event = 'arrive') AS caller,
         min(arr_service) AS service,
         count(*) FILTER (WHERE event = 'transfer') > 0 AS transferred,
         count(*) FILTER (WHERE event = 'transfer' AND coalesce(service, '') <> '' AND service <> arr_service) > 0 AS elsewhere,
         coalesce(nullif(min(outcome) FILTER (WHERE event = 'end'), ''), 'resolved') AS outcome,
         arg_max(reason, t * 4 + rnk) FILTER (WHERE coalesce(reason, '') <> '') AS reason
  FROM g3 GROUP BY centre, call, k
),
contacts AS (
  SELECT *, n_ans = 1 AS handled, term IN ('abandon', 'blocked') AS failed,
         CASE WHEN n_ans = 1 THEN t_ans - t ELSE t_term - t END AS wait,
         CASE WHEN n_ans = 1 THEN t_term - t_ans ELSE 0 END AS handle,
         NOT (coalesce(caller, '') = '' OR lower(caller) IN ('anonymous', 'withheld', 'private', 'unknown', 'unavailable')) AS identified
  FROM calls
  WHERE n_arr = 1 AND n_ans <= 1 AND n_term = 1 AND ((term = 'end') = (n_ans = 1))
    AND t_term >= t AND (t_ans IS NULL OR (t_ans >= t AND t_term >= t_ans))
),
scoped AS (
  SELECT *,
    max(CASE WHEN handled THEN t END) OVER w AS last_handled,
    max(CASE WHEN handled AND outcome = 'pending' THEN t END) OVER w AS last_pending,
    max(CASE WHEN failed THEN t END) OVER w AS last_failed,
    lead(t) OVER (PARTITION BY CASE WHEN identified THEN caller END, centre ORDER BY t, call, centre) AS next_t,
    max(t) OVER (PARTITION BY 1) AS dummy
  FROM contacts
  WINDOW w AS (PARTITION BY CASE WHEN identified THEN caller END, centre ORDER BY t, call, centre
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
horizon AS (SELECT max(t) AS h FROM d),
classed AS (
  SELECT s.*,
    CASE
      WHEN reason = 'progress_chase' OR (identified AND t - last_pending <= {C}) THEN 'progress_chase'
      WHEN identified AND t - last_handled <= {W} THEN 'repeat'
      WHEN identified AND t - last_failed <= {R} THEN 'retry'
      WHEN reason = 'misdirected' OR elsewhere THEN 'misdirected'
      WHEN reason = 'clarification' THEN 'clarification'
    END AS cls,
    handled AND identified AND t + {W} <= h AS mature,
    handled AND identified AND t + {W} <= h AND outcome <> 'unresolved'
      AND NOT coalesce(identified AND next_t - t <= {W}, false) AS fcr_ok
  FROM scoped s, horizon
)
SELECT centre, service, strftime(make_timestamp(t * 1000), '%Y-%m-%d') AS day,
  count(*) AS contacts, count(*) FILTER (WHERE identified) AS identified,
  count(*) FILTER (WHERE handled) AS handled, count(*) FILTER (WHERE term = 'abandon') AS abandoned,
  count(*) FILTER (WHERE term = 'abandon' AND wait < {S}) AS short_abandoned,
  count(*) FILTER (WHERE term = 'blocked') AS blocked, count(*) FILTER (WHERE transferred) AS transferred,
  count(*) FILTER (WHERE handled AND wait <= {T}) AS answered_in_sl,
  coalesce(sum(wait) FILTER (WHERE handled), 0) AS wait_ms_sum,
  coalesce(sum(handle) FILTER (WHERE handled), 0) AS handle_ms_sum,
  count(cls) AS avoidable,
  count(*) FILTER (WHERE cls = 'progress_chase') AS progress_chase, count(*) FILTER (WHERE cls = 'repeat') AS "repeat",
  count(*) FILTER (WHERE cls = 'retry') AS retry, count(*) FILTER (WHERE cls = 'misdirected') AS misdirected,
  count(*) FILTER (WHERE cls = 'clarification') AS clarification,
  count(*) FILTER (WHERE mature) AS fcr_eligible, count(*) FILTER (WHERE fcr_ok) AS fcr,
  count(*) FILTER (WHERE handled AND identified AND NOT mature) AS fcr_pending
FROM classed GROUP BY ALL ORDER BY ALL
"""


def main():
    path = sys.argv[1]
    started = time.time()
    con = duckdb.connect()
    rows = con.execute(SQL, {"file": path}).fetchall()
    cols = [d[0] for d in con.description]
    elapsed = time.time() - started
    print(f"duckdb: {len(rows)} base groups in {elapsed:.2f} s", file=sys.stderr)
    if len(sys.argv) > 2:
        report = json.load(open(sys.argv[2]))
        ours = {(r["centre"], r["service"], r["period"]): r for r in report["rows"]}
        mismatches = 0
        for row in rows:
            d = dict(zip(cols, row))
            key = (d["centre"], d["service"], d["day"])
            r = ours.get(key)
            for name in cols[3:]:
                if r is None or int(r[name]) != int(d[name]):
                    mismatches += 1
                    if mismatches <= 10:
                        print(f"differs: {key} {name}: duckdb {d[name]} callsift {None if r is None else r[name]}", file=sys.stderr)
        if len(ours) != len(rows):
            mismatches += 1
            print(f"differs: {len(rows)} groups in duckdb, {len(ours)} in callsift", file=sys.stderr)
        print(f"cross-check: {len(rows)} base groups x {len(cols) - 3} counters, {mismatches} differences")
        sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
