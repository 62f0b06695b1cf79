"""The SQL of a page of jobs, newest first, and of the count a page's X-Total-Count reports."""

from __future__ import annotations

SELECT_PAGE = "SELECT {columns} FROM jobs {where} ORDER BY seq DESC LIMIT %(limit)s OFFSET %(offset)s"
COUNT_JOBS = "SELECT COUNT(*) AS n FROM jobs {where}"
WHERE_STATUS = "status = %(status)s"  # with ORDER BY seq DESC, the jobs_status (status, seq) index serves it
WHERE_BEFORE = "seq < (SELECT seq FROM jobs WHERE id = %(before)s)"  # an unknown id: an empty page
WHERE_BEFORE_SEQ = "seq < %(before_seq)s"
CLAUSES = {"status": WHERE_STATUS, "before": WHERE_BEFORE, "before_seq": WHERE_BEFORE_SEQ}


def _where(filters: dict) -> tuple[str, dict]:
    """Each filter given (not None) adds its clause and its parameter."""
    given = {name: value for name, value in filters.items() if value is not None}
    return ("WHERE " + " AND ".join(CLAUSES[name] for name in given)) if given else "", given


def page_query(columns: str, *, limit: int, offset: int, **filters) -> tuple[str, dict]:
    """``filters``: status, before (a job id), before_seq (a cursor's position); None means no filter."""
    where, params = _where(filters)
    return SELECT_PAGE.format(columns=columns, where=where), params | {"limit": limit, "offset": offset}


def count_query(*, status: str | None) -> tuple[str, dict]:
    where, params = _where({"status": status})
    return COUNT_JOBS.format(where=where), params
