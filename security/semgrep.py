# The rules' own test cases: `semgrep --test` (run by `make lint`) checks that each rule fires
# on the lines marked ruleid and stays quiet on those marked ok. Not imported by anything.
# ruff: noqa
import logging

from sqlalchemy import text

log = logging.getLogger("x")


def sql(connection, cursor, supplier_id, table):
    # ruleid: sql-built-from-strings
    connection.execute(f"SELECT * FROM task_instances WHERE supplier_id = {supplier_id}")
    # ruleid: sql-built-from-strings
    cursor.execute("SELECT * FROM suppliers WHERE id = %s" % supplier_id)
    # ruleid: sql-built-from-strings
    cursor.execute("SELECT * FROM suppliers WHERE code = '" + supplier_id + "'")
    # ruleid: sql-built-from-strings
    connection.exec_driver_sql(f"DELETE FROM {table}")
    # ok: sql-built-from-strings
    cursor.execute("SELECT * FROM suppliers WHERE id = %s", (supplier_id,))
    # ok: sql-built-from-strings
    connection.execute(text("SELECT * FROM suppliers WHERE id = :id"), {"id": supplier_id})


def texts(supplier_id):
    # ruleid: text-with-interpolation
    text(f"SELECT * FROM suppliers WHERE id = {supplier_id}")
    # ruleid: text-with-interpolation
    text("SELECT * FROM suppliers WHERE id = {}".format(supplier_id))
    # ruleid: text-with-interpolation
    text("SELECT * FROM suppliers WHERE id = " + supplier_id)
    # ok: text-with-interpolation
    text("SELECT * FROM suppliers WHERE id = :id")


def settings(connection, cursor):
    # ruleid: plain-set-of-a-session-setting
    connection.execute(text("SET supplytrack.supplier_id = '4'"))
    # ruleid: plain-set-of-a-session-setting
    cursor.execute("set statement_timeout = 0")
    # ok: plain-set-of-a-session-setting
    connection.execute(text("SET LOCAL statement_timeout = 0"))
    # ok: plain-set-of-a-session-setting
    connection.execute(text("SELECT set_config('supplytrack.supplier_id', :id, true)"))


async def logs(request, raw_token, token_id, body):
    # ruleid: secret-in-a-log-call
    log.info("authenticating %s", raw_token)
    # ruleid: secret-in-a-log-call
    log.warning("bad header %s", request.headers["authorization"])
    # ruleid: secret-in-a-log-call
    log.error("refused %r", await request.body())
    # ruleid: secret-in-a-log-call
    log.info("request", extra={"payload": body})
    # ok: secret-in-a-log-call
    log.info("token %s used", token_id)
