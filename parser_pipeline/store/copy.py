"""PostgreSQL's fast path for big batches: COPY rows into a temporary staging table.

`INSERT ... ON CONFLICT` with many VALUES rows spends most of its time parsing and binding
parameters; COPY streams rows in PostgreSQL's own format, and one `INSERT ... SELECT ... ON
CONFLICT` from the staging table then merges them (measured in bench/store_ingest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Column, Connection, MetaData, Table
from sqlalchemy.types import TypeDecorator

# Below this many rows the plain multi-row INSERT is as fast and needs no temporary table. Above
# it COPY wins, and by more the bigger the batch: psycopg parses a statement's placeholders on
# every execute once the statement is longer than its cache takes (4 kB), so a multi-row INSERT
# of a thousand comments spends most of its time turning a placeholder per value into $n. Measured
# (upsert_comments, every index, median of 8): 20 rows 14 ms either way; 100 rows 34 ms INSERT,
# 20 ms COPY; 1,000 rows 398 against 91 ms; 1,900 rows 768 against 122 ms.
COPY_MIN_ROWS = 50
# Authors (four short columns, no RETURNING) go by executemany below this, which psycopg
# pipelines: cheaper than a staging table until a few hundred rows. Measured (upsert_authors,
# half of them new, median of 15): 60 rows 5.5 ms executemany, 9.4 ms COPY; 150 rows 8.9 against
# 10.3 ms; 250 rows 15.6 against 13.2 ms; 2,000 rows 78 against 50 ms.
AUTHORS_COPY_MIN_ROWS = 200


def use_copy(connection: Connection, rows: int, min_rows: int = COPY_MIN_ROWS) -> bool:
    return connection.dialect.name == "postgresql" and rows >= min_rows


def copy_into_stage(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> Table:
    """A temporary table shaped like `table` (dropped at commit) holding `rows`, loaded by COPY."""
    columns = list(rows[0])
    name = f"stage_{table.name}_{uuid.uuid4().hex[:8]}"
    stage = Table(
        name,
        MetaData(),
        *(Column(c, table.c[c].type) for c in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage.create(connection)
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    # COPY bypasses SQLAlchemy's bind processing: apply the column types' own (e.g. UtcDateTime
    # refusing naive timestamps) so both write paths accept and store exactly the same values.
    processors: dict[str, Any] = {}
    for c in columns:
        column_type = table.c[c].type
        if isinstance(column_type, TypeDecorator):
            processors[c] = column_type.process_bind_param
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        quoted = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(
                    [_copy_value(row[c], c, json_columns, processors, connection) for c in columns]
                )
    return stage


def _copy_value(
    value: Any,
    column: str,
    json_columns: set[str],
    processors: dict[str, Any],
    connection: Connection,
) -> Any:
    if value is None:
        return None
    if column in processors:
        value = processors[column](value, connection.dialect)
    return Jsonb(value) if column in json_columns else value
