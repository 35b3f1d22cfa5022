"""payment_record's common case as one SQL statement, on PostgreSQL.

Recording a payment that fits in what an open invoice still asks for is the
busiest write the product has. Through the ORM it takes four statements (lock
the invoice, insert the payment, update the invoice, insert the timeline event)
and most of its time goes to building them. Here the same writes are one
statement, with data-modifying CTEs:

- the UPDATE takes the invoice's row lock and applies the payment only if the
  invoice is still payable and the amount fits in its due less what pending
  charges reserve (PostgreSQL re-checks that WHERE on the newest row after
  waiting for another writer's lock, so it holds under concurrency);
- the payment and the event are inserted only from the row the UPDATE returned.

When the guard does not hold the statement writes nothing and returns no row;
the caller then takes the ORM path, which finds out why (not found, not payable,
overpayment) or handles what this one does not (excess to credit, write-off).

Nothing here is spelled out twice: the column lists come from the models, the
values from each field's own ``pre_save``/``get_db_prep_save`` (what
``Model.save`` sends), and the caller builds the payment and event instances once
for both paths. tests/billing/services/test_one_statement.py checks that both
paths write the same rows.
"""

import functools

from django.db import connections

from billing.models import Invoice, InvoiceEvent, InvoiceStatus, Payment

PAYABLE = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


def _inserted_fields(model, *, skip=()):
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]


@functools.cache
def _fields():
    # The event's payment is the one the statement inserts.
    return _inserted_fields(Payment), _inserted_fields(InvoiceEvent, skip=("payment_id",))


@functools.cache
def _statement(alias):
    connection = connections[alias]
    qn = connection.ops.quote_name
    payment_fields, event_fields = _fields()

    def column(model, name):
        return qn(model._meta.get_field(name).column)

    def columns(fields):
        return ", ".join(qn(f.column) for f in fields)

    def values(fields):
        # Typed, so the values need no column to infer their type from.
        return ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields)

    paid, due = column(Invoice, "amount_paid"), column(Invoice, "amount_due")
    status, pending = column(Invoice, "status"), column(Invoice, "amount_pending")
    invoice_columns = ", ".join(qn(f.column) for f in Invoice._meta.concrete_fields)
    return f"""
        WITH locked_invoice AS (
            UPDATE {qn(Invoice._meta.db_table)}
               SET {paid} = {paid} + %s,
                   {due} = {due} - %s,
                   {status} = CASE WHEN {due} = %s THEN %s ELSE %s END
             WHERE {column(Invoice, "id")} = %s
               AND {column(Invoice, "currency")} = %s
               AND {status} IN (%s, %s)
               AND {due} - {pending} >= %s
         RETURNING {invoice_columns}
        ), new_payment AS (
            INSERT INTO {qn(Payment._meta.db_table)} ({columns(payment_fields)})
            SELECT {values(payment_fields)} FROM locked_invoice
            RETURNING {column(Payment, "id")}
        ), new_event AS (
            INSERT INTO {qn(InvoiceEvent._meta.db_table)}
                   ({columns(event_fields)}, {column(InvoiceEvent, "payment")})
            SELECT {values(event_fields)}, new_payment.{column(Payment, "id")}
              FROM new_payment
        )
        SELECT new_payment.{column(Payment, "id")}, locked_invoice.*
          FROM new_payment, locked_invoice
    """


def _server_binding_cursor(connection):
    """A cursor that sends the parameters apart from the SQL, so psycopg can prepare
    the statement (settings.DATABASE_PREPARED_STATEMENTS): its CTEs are then parsed
    and planned once per connection instead of on every payment.

    Django's cursors bind on the client and Django has no public way to ask for
    one that does not; ``_prepare_cursor`` is how ``connection.cursor()`` wraps
    its own, so execute wrappers and the query log see this statement too.
    """
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    return connection._prepare_cursor(cursor)


def _db_values(instance, fields, connection):
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def record_payment(payment, event, *, alias="default"):
    """Save ``payment`` (unsaved, succeeded) and its ``event`` against the payment's
    invoice if the whole amount fits in what the invoice may still be paid.

    Returns the saved payment, its ``invoice`` the updated row, or None when the
    invoice is missing, not payable, in another currency or the amount does not
    fit, and on databases other than PostgreSQL: then nothing was written. Call
    inside the operation's transaction.
    """
    connection = connections[alias]
    # SQLite has no data-modifying CTEs. A malformed id is the ORM path's to refuse.
    if connection.vendor != "postgresql" or not isinstance(payment.invoice_id, int):
        return None
    payment_fields, event_fields = _fields()
    amount = payment.amount.amount
    params = [
        amount,
        amount,
        amount,
        InvoiceStatus.PAID,
        InvoiceStatus.PARTIALLY_PAID,
        payment.invoice_id,
        payment.currency,
        *PAYABLE,
        amount,
        *_db_values(payment, payment_fields, connection),
        *_db_values(event, event_fields, connection),
    ]
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(_statement(alias), params)
        row = cursor.fetchone()
    if row is None:
        return None
    payment.pk = row[0]
    payment._state.adding, payment._state.db = False, alias
    payment.invoice = Invoice.from_db(
        alias, [f.attname for f in Invoice._meta.concrete_fields], row[1:]
    )
    return payment
