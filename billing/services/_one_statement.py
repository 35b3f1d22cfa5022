"""Hot steps as one SQL statement each: payment_record's common case (on
PostgreSQL, its idempotency key's claim included) and the claim of an
idempotency key.

Recording a payment that fits in what an open invoice still asks for is the
busiest write the product has. Through the ORM it takes four statements (lock
the invoice, insert the payment, update the invoice, insert the timeline event)
and most of its time goes to building them. Here the same writes are one
statement, with data-modifying CTEs:

- the UPDATE takes the invoice's row lock and applies the payment only if the
  invoice is still payable and the amount fits in its due less what pending
  charges reserve (``Invoice.payable_now``, in SQL; PostgreSQL re-checks that
  WHERE on the newest row after waiting for another writer's lock, so it holds
  under concurrency) and it has no payment schedule (``Invoice.has_schedule``:
  those payments are allocated to instalments on the ORM path); the status it
  sets is one of the two that ``invoice_status`` can give a paid-into invoice;
- the payment, its event and its receipt's outbox row are inserted only from
  the row the UPDATE returned;
- with an idempotency key, the statement first claims it (``INSERT ... ON
  CONFLICT DO NOTHING``, as ``insert_unless_taken``), naming as its result the
  payment id it takes from the payments' sequence, and the UPDATE runs only if
  the claim did: a key another request holds makes the whole statement write
  nothing (PostgreSQL makes it wait for that request's transaction first).

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

from billing.models import (
    PAYABLE_STATUSES,
    IdempotencyKey,
    Invoice,
    InvoiceEvent,
    OutboxMessage,
    Payment,
    invoice_status,
)
from billing.money import zero


def _inserted_fields(model, *, skip=()):
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]


@functools.cache
def _fields():
    # The event's and the outbox row's payment is the one the statement inserts.
    return (
        _inserted_fields(Payment),
        _inserted_fields(InvoiceEvent, skip=("payment_id",)),
        _inserted_fields(OutboxMessage, skip=("payment_id",)),
    )


@functools.cache
def _statement(alias, keyed):
    connection = connections[alias]
    qn = connection.ops.quote_name
    payment_fields, event_fields, outbox_fields = _fields()
    key_fields = _key_fields()

    def column(model, name):
        return qn(model._meta.get_field(name).column)

    def columns(fields):
        return ", ".join(qn(f.column) for f in fields)

    def values(fields):
        # Typed, so the values need no column to infer their type from.
        return ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields)

    paid, due = column(Invoice, "amount_paid"), column(Invoice, "amount_due")
    status, pending = column(Invoice, "status"), column(Invoice, "amount_pending")
    scheduled = column(Invoice, "has_schedule")
    invoice_columns = ", ".join(qn(f.column) for f in Invoice._meta.concrete_fields)
    payment_id = column(Payment, "id")
    if keyed:
        key_table = qn(IdempotencyKey._meta.db_table)
        table, pk = Payment._meta.db_table, Payment._meta.pk.column
        sequence = f"pg_get_serial_sequence('{table}', '{pk}')"
        targets = ", ".join(column(IdempotencyKey, name) for name in KEY_CONFLICT)
        claim = f"""claimed AS (
            INSERT INTO {key_table} ({columns(key_fields)}, {column(IdempotencyKey, "result_id")})
            VALUES ({values(key_fields)}, nextval({sequence}))
            ON CONFLICT ({targets}) DO NOTHING
            RETURNING {column(IdempotencyKey, "id")}, {column(IdempotencyKey, "result_id")}
        ), """
        only_claimed = "AND EXISTS (SELECT 1 FROM claimed)"
        new_id = f"{payment_id}, "
        claimed_id = f"claimed.{column(IdempotencyKey, 'result_id')}, "
        from_claimed = ", claimed"
        answer = f"""SELECT claimed.{column(IdempotencyKey, "id")}, new_payment.{payment_id},
               new_outbox.{column(OutboxMessage, "id")}, locked_invoice.*
          FROM claimed LEFT JOIN new_payment ON true LEFT JOIN new_outbox ON true
               LEFT JOIN locked_invoice ON true"""
    else:
        claim = only_claimed = new_id = claimed_id = from_claimed = ""
        answer = f"""SELECT NULL, new_payment.{payment_id},
               new_outbox.{column(OutboxMessage, "id")}, locked_invoice.*
          FROM new_payment, new_outbox, locked_invoice"""
    return f"""
        WITH {claim}locked_invoice AS (
            UPDATE {qn(Invoice._meta.db_table)}
               SET {paid} = {paid} + %s,
                   {due} = {due} - %s,
                   {status} = CASE WHEN {due} = %s THEN %s ELSE %s END
             WHERE {column(Invoice, "id")} = %s
               AND {column(Invoice, "currency")} = %s
               AND {status} IN (%s, %s)
               AND {due} - {pending} >= %s
               AND NOT {scheduled}
               {only_claimed}
         RETURNING {invoice_columns}
        ), new_payment AS (
            INSERT INTO {qn(Payment._meta.db_table)} ({new_id}{columns(payment_fields)})
            SELECT {claimed_id}{values(payment_fields)} FROM locked_invoice{from_claimed}
            RETURNING {column(Payment, "id")}
        ), new_event AS (
            INSERT INTO {qn(InvoiceEvent._meta.db_table)}
                   ({columns(event_fields)}, {column(InvoiceEvent, "payment")})
            SELECT {values(event_fields)}, new_payment.{column(Payment, "id")}
              FROM new_payment
        ), new_outbox AS (
            INSERT INTO {qn(OutboxMessage._meta.db_table)}
                   ({columns(outbox_fields)}, {column(OutboxMessage, "payment")})
            SELECT {values(outbox_fields)}, new_payment.{column(Payment, "id")}
              FROM new_payment
            RETURNING {column(OutboxMessage, "id")}
        )
        {answer}
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


KEY_CONFLICT = ("operation", "created_by", "key")


@functools.cache
def _key_fields():
    # The key's result is the payment id the statement takes from the sequence.
    return _inserted_fields(IdempotencyKey, skip=("result_id",))


def record_payment(payment, event, outbox, *, key=None, alias="default"):
    """Claim the unsaved idempotency ``key`` row, if any, and save ``payment``
    (unsaved, succeeded), its ``event`` and its receipt's ``outbox`` row against
    the payment's invoice if the whole amount fits in what the invoice may still
    be paid, the key naming the payment as its result.

    Returns the saved payment, its ``invoice`` the updated row. Returns None
    when the invoice is missing, not payable, in another currency or the amount
    does not fit, and on databases other than PostgreSQL: then no payment was
    written, and the key was claimed (saved, its result to be named by the
    caller) or not (unsaved: it is taken, or the statement did not run). Call
    inside the operation's transaction.
    """
    connection = connections[alias]
    # SQLite has no data-modifying CTEs. A malformed id is the ORM path's to refuse.
    if connection.vendor != "postgresql" or not isinstance(payment.invoice_id, int):
        return None
    payment_fields, event_fields, outbox_fields = _fields()
    claim = []
    if key is not None:
        key.result_model = Payment._meta.label
        claim = _db_values(key, _key_fields(), connection)
    amount = payment.amount.amount
    # The guard keeps the payment within the due, so afterwards something is paid
    # and the due is either zero or not: the status rule's two possible answers.
    settled = invoice_status(due=zero(payment.currency), paid=payment.amount)
    part_paid = invoice_status(due=payment.amount, paid=payment.amount)
    params = [
        *claim,
        amount,
        amount,
        amount,
        settled,
        part_paid,
        payment.invoice_id,
        payment.currency,
        *PAYABLE_STATUSES,
        amount,
        *_db_values(payment, payment_fields, connection),
        *_db_values(event, event_fields, connection),
        *_db_values(outbox, outbox_fields, connection),
    ]
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(_statement(alias, key is not None), params)
        row = cursor.fetchone()
    if key is not None:
        key.result_model = ""
        if row is not None:  # claimed
            key.pk = row[0]
            key._state.adding, key._state.db = False, alias
    if row is None or row[1] is None:
        # The row names a payment id that no payment took: the caller names its own.
        return None
    payment.pk, outbox.pk, outbox.payment = row[1], row[2], payment
    payment._state.adding, payment._state.db = False, alias
    outbox._state.adding, outbox._state.db = False, alias
    if key is not None:
        key.result_model, key.result_id = Payment._meta.label, payment.pk
    payment.invoice = Invoice.from_db(
        alias, [f.attname for f in Invoice._meta.concrete_fields], row[3:]
    )
    return payment


# -- an idempotency key's claim ----------------------------------------------------


@functools.cache
def _insert_unless_taken_statement(alias, model, conflict):
    connection = connections[alias]
    qn = connection.ops.quote_name
    fields = _inserted_fields(model)
    targets = ", ".join(qn(model._meta.get_field(name).column) for name in conflict)
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({targets}) DO NOTHING RETURNING {qn(model._meta.pk.column)}"
    )


def insert_unless_taken(instance, *, conflict, alias="default"):
    """Insert the unsaved ``instance`` unless a row with the same ``conflict``
    fields (a unique constraint's) exists. True when it did, the instance now
    saved; False when the row was taken, with nothing written.

    Like an INSERT that fails on the unique constraint, it waits for a
    transaction inserting the same values to end, but it does not abort the
    transaction, so it needs no savepoint: one statement where the ORM's
    ``create`` in ``atomic`` sends three.
    """
    connection = connections[alias]
    model = type(instance)
    params = _db_values(instance, _inserted_fields(model), connection)
    if connection.vendor == "postgresql":
        cursor = _server_binding_cursor(connection)
    else:
        cursor = connection.cursor()
    with cursor:
        cursor.execute(_insert_unless_taken_statement(alias, model, tuple(conflict)), params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, alias
    return True
