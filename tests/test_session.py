"""The SQL session: one identifier policy, one-line errors naming what was being done."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.server_errors import ER_NO_SUCH_TABLE
from plugins.module_utils.core.session import SqlSession


def test_a_session_answers_catalog_questions_and_quotes_every_part(admin, database, server):
    session = SqlSession(admin)
    assert session.server == server
    assert session.database_exists(database) and not session.database_exists(database + "_absent")
    assert session.table_exists(database, "companies") and not session.table_exists(database, "nope")
    assert SqlSession.name(database, "odd`name") == f"`{database}`.`odd``name`"
    assert session.scalar(f"SELECT COUNT(*) FROM {SqlSession.name(database, 'companies')}") == 0
    with pytest.raises(SchemagateError, match="Unknown database"):
        session.require_database(database + "_absent")


def test_a_server_error_is_one_line_with_its_code(admin, database):
    session = SqlSession(admin)
    with pytest.raises(SchemagateError) as failure:
        session.rows(f"SELECT * FROM {SqlSession.name(database, 'no_such_table')}", doing="reading no_such_table")
    assert failure.value.message.startswith("reading no_such_table failed: (1146)")
    assert failure.value.details["error_code"] == ER_NO_SUCH_TABLE
    assert "\n" not in failure.value.message
