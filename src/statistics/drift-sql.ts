// SQL text for the DuckDB drift path. Each builder takes FROM items already made safe by
// sql.ts and a quoted column; every number travels as a named parameter.

/** The column as a finite DOUBLE or NULL: NaN and ±Infinity count as missing, as in Evidently. */
export function finiteExpr(col: string): string {
  return `CASE WHEN isfinite(CAST(${col} AS DOUBLE)) THEN CAST(${col} AS DOUBLE) END`;
}

/** Reference (s = 0) and current (s = 1) values of one column, stacked. */
export function stacked(ref: string, cur: string, expr: string): string {
  return `(SELECT ${expr} AS x, 0 AS s FROM ${ref} UNION ALL SELECT ${expr} AS x, 1 AS s FROM ${cur})`;
}

/**
 * The exact two-sample ECDF comparison of one numeric column without sorting every value:
 * D·n·m (KS) and ∫|F − G| dx·n·m (Wasserstein-1).
 *
 * 1. Values fall into equal-width bins over the pooled range; the bin index is a monotone
 *    function of the value, so bins are ordered and ties share a bin. Per bin: counts, min, max
 *    and sums of (x − anchor) per side (the anchor near the bin keeps the sums precise).
 * 2. A window over the bins gives D before each bin (d0, in units of 1/(n·m)). Inside a bin D
 *    moves only between d0 − cc·n and d0 + cr·m. If that range keeps one sign, ∫(F − G) over the
 *    bin follows from the sums exactly: d0·(max − min) + m·Σ(max − xᵢ) − n·Σ(max − yⱼ). Between
 *    bins D is constant (a gap term). D's maximum is at least its largest value at a bin end.
 * 3. Only bins where D may change sign, or may exceed that lower bound inside the bin, are
 *    refined: their rows (usually a small share) are grouped by value and walked in order.
 * Also returned: whether every bin holds one value (then the bin count is the exact distinct
 * count), and the same for reference values.
 */
export function ecdfSql(ref: string, cur: string, col: string): string {
  return `
WITH u AS MATERIALIZED (
  SELECT x, s, CAST(least(greatest(floor((x - $lo) * $scale), 0), $last) AS BIGINT) AS b
  FROM ${stacked(ref, cur, finiteExpr(col))} WHERE x IS NOT NULL
),
h AS (
  SELECT b, $lo + b * $width AS anchor,
    CAST(count_if(s = 0) AS BIGINT) AS cr, CAST(count_if(s = 1) AS BIGINT) AS cc,
    min(x) AS mn, max(x) AS mx,
    min(x) FILTER (WHERE s = 0) AS rmn, max(x) FILTER (WHERE s = 0) AS rmx,
    sum(x - ($lo + b * $width)) FILTER (WHERE s = 0) AS sr,
    sum(x - ($lo + b * $width)) FILTER (WHERE s = 1) AS sc
  FROM u GROUP BY b
),
hw AS (
  SELECT *, CAST(sum(cr * $m - cc * $n) OVER w AS BIGINT) - (cr * $m - cc * $n) AS d0, lead(mn) OVER w AS nmn
  FROM h WINDOW w AS (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
hc AS (
  SELECT *, d0 + cr * $m - cc * $n AS d1, mn < mx AS multi,
    d0 - cc * $n >= 0 AS pos, d0 + cr * $m <= 0 AS neg,
    greatest(abs(d0 + cr * $m), abs(d0 - cc * $n)) AS bound
  FROM hw
),
lowd AS (SELECT max(abs(d1)) AS dlow FROM hc),
r AS (SELECT b, d0 FROM hc, lowd WHERE multi AND (NOT (pos OR neg) OR bound > dlow)),
rg AS (
  SELECT b, x, CAST(count_if(s = 0) AS BIGINT) AS cr, CAST(count_if(s = 1) AS BIGINT) AS cc
  FROM u WHERE b IN (SELECT b FROM r) GROUP BY b, x
),
rw AS (
  SELECT r.d0 + CAST(sum(rg.cr * $m - rg.cc * $n) OVER p AS BIGINT) AS d, lead(rg.x) OVER p - rg.x AS dx
  FROM rg JOIN r USING (b)
  WINDOW p AS (PARTITION BY rg.b ORDER BY rg.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
rr AS (SELECT max(abs(d)) AS dmax, sum(coalesce(dx, 0) * abs(d)) AS area, count(*) AS refined FROM rw),
fast AS (
  SELECT
    sum(CASE WHEN multi AND (pos OR neg) AND b NOT IN (SELECT b FROM r) THEN
      (CASE WHEN pos THEN 1 ELSE -1 END) * (d0 * (mx - mn)
        + $m * (cr * (mx - anchor) - coalesce(sr, 0)) - $n * (cc * (mx - anchor) - coalesce(sc, 0)))
      ELSE 0 END) AS inner_area,
    sum(coalesce(nmn - mx, 0) * abs(d1)) AS gap_area,
    count(*) AS bins, bool_and(NOT multi) AS all_single,
    count_if(cr > 0) AS ref_bins, bool_and(cr = 0 OR rmn = rmx) AS ref_all_single
  FROM hc
)
SELECT greatest(lowd.dlow, coalesce(rr.dmax, 0)) AS d_scaled,
  fast.inner_area + fast.gap_area + coalesce(rr.area, 0) AS area_scaled,
  fast.bins, fast.all_single, fast.ref_bins, fast.ref_all_single, rr.refined
FROM fast, lowd, rr`;
}

/** Exact distinct counts, pooled and reference-only (the fallback when bins cannot tell). */
export function distinctSql(ref: string, cur: string, col: string): string {
  return `SELECT count(DISTINCT x), count(DISTINCT x) FILTER (WHERE s = 0)
FROM ${stacked(ref, cur, finiteExpr(col))} WHERE x IS NOT NULL`;
}

/** Value counts per side; `expr` is the key expression (finite DOUBLE, the value, or its text). */
export function countsSql(ref: string, cur: string, expr: string): string {
  return `SELECT x, count_if(s = 0), count_if(s = 1)
FROM ${stacked(ref, cur, expr)} WHERE x IS NOT NULL GROUP BY x`;
}

/** Per side, #(x < eᵢ) for each edge (#(x ≤ e_last) for numpy's closed last edge), from $e0..$eK. */
export function belowSql(
  ref: string,
  cur: string,
  col: string,
  edgeCount: number,
  closedLast: boolean,
): string {
  const cols: string[] = [];
  for (let i = 0; i < edgeCount; i++) {
    const op = closedLast && i === edgeCount - 1 ? '<=' : '<';
    cols.push(`count_if(x ${op} $e${i})`);
  }
  return `SELECT s, count(*), ${cols.join(', ')}
FROM ${stacked(ref, cur, finiteExpr(col))} WHERE x IS NOT NULL GROUP BY s`;
}

/** Chosen order statistics (0-based ranks in $ranks) of the finite reference values. */
export function orderStatsSql(ref: string, col: string): string {
  return `SELECT r, x FROM (
  SELECT x, row_number() OVER (ORDER BY x) - 1 AS r FROM (SELECT ${finiteExpr(col)} AS x FROM ${ref}) WHERE x IS NOT NULL
) WHERE list_contains($ranks, r)`;
}
