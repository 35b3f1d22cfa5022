"""The one set of error codes shared by services, forms and commands
(docs/design.md, "Errors").

A service that refuses raises ``BillingError(code, message)`` and writes
nothing (its durable transaction rolls back). ``message`` is a sentence a billing
clerk understands; ``code`` is stable and machine-readable.
"""


class ErrorCode:
    INVOICE_NOT_FOUND = "invoice_not_found"
    INVALID_AMOUNT = "invalid_amount"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_DATE = "invalid_date"
    INVOICE_NOT_PAYABLE = "invoice_not_payable"
    OVERPAYMENT = "overpayment"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    CREDIT_NOTE_EXCEEDS_INVOICE = "credit_note_exceeds_invoice"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    NO_SAVED_PAYMENT_METHOD = "no_saved_payment_method"
    PAYMENT_DECLINED = "payment_declined"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    PERMISSION_DENIED = "permission_denied"
    INVALID_STATE = "invalid_state"
    INVALID_VALUE = "invalid_value"
    # Payment schedules (services.schedules).
    INSTALMENT_NOT_ON_INVOICE = "instalment_not_on_invoice"
    INSTALMENT_ALREADY_PAID = "instalment_already_paid"
    SCHEDULE_TOTAL_MISMATCH = "schedule_total_mismatch"


ALL_CODES = frozenset(value for name, value in vars(ErrorCode).items() if not name.startswith("_"))


class BillingError(Exception):
    """A refused billing operation: ``code`` from ErrorCode, ``message`` for people.

    ``field`` optionally names the input the error is about, so a form can show
    the message next to that field instead of at the top.
    """

    def __init__(self, code, message, *, field=None):
        if code not in ALL_CODES:
            raise ValueError(f"Unknown billing error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self):
        return f"{self.message} [{self.code}]"
