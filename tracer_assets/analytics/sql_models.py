"""Analyst SQL models: one ``.sql`` file each (DuckDB dialect), upstream tables parsed with sqlglot.

Also the read-only guard for ``tracer sql``: only queries (SELECT, WITH, set operations, DESCRIBE,
SHOW, EXPLAIN of a query, SUMMARIZE) are accepted. It is the friendly first message only: the
enforcement is DuckDB's own sandbox (``Lake.connect``), so a statement this parser misses still
cannot read outside the lake or write anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

_READ_ONLY_ROOTS = (exp.Query, exp.Describe, exp.Show, exp.Summarize)
_READ_ONLY_COMMANDS = {"SUMMARIZE", "EXPLAIN", "SHOW", "DESCRIBE"}


class ReadOnlyViolation(ValueError):
    """A statement that would write, or that cannot be proven read-only."""


@dataclass(frozen=True)
class SqlModel:
    name: str
    path: Path
    sql: str
    upstream: tuple[str, ...]


def table_refs(sql: str) -> list[str]:
    """Tables a query reads, excluding its own CTE names, sorted and de-duplicated."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    return sorted(names)


def load_models(folder: str | Path) -> list[SqlModel]:
    models = []
    for path in sorted(Path(folder).glob("*.sql")):
        sql = path.read_text()
        assert_read_only(sql)
        models.append(SqlModel(name=path.stem, path=path, sql=sql, upstream=tuple(table_refs(sql))))
    return models


def assert_read_only(sql: str) -> None:
    """Raise ``ReadOnlyViolation`` unless every statement in ``sql`` only reads."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ReadOnlyViolation(f"could not parse the query: {str(exc).splitlines()[0]}") from exc
    if not statements:
        raise ReadOnlyViolation("empty query")
    for stmt in statements:
        if isinstance(stmt, _READ_ONLY_ROOTS):
            writes = [
                n
                for n in stmt.walk()
                if isinstance(n, exp.Insert | exp.Update | exp.Delete | exp.Create | exp.Drop | exp.Copy)
            ]
            if not writes:
                continue
        if isinstance(stmt, exp.Command) and stmt.this.upper() in _READ_ONLY_COMMANDS:
            if stmt.this.upper() == "EXPLAIN":
                # EXPLAIN ANALYZE runs its statement: the inner one must be read-only too
                inner = re.sub(
                    r"^\s*(ANALY[SZ]E\b)?", "", stmt.expression.name if stmt.expression else "", flags=re.I
                )
                assert_read_only(inner)
            continue
        kind = stmt.key.upper() if not isinstance(stmt, exp.Command) else stmt.this.upper()
        raise ReadOnlyViolation(f"refused: {kind} statements are not allowed; the lake is read-only here")
