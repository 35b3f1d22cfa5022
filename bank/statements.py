"""Reading bank statement files: one adapter per format, all giving the same shapes.

CAMT.053 is read by pycamt, MT940 by mt-940, OFX by ofxtools; the bank CSV
export is read with the standard library against one documented column mapping
(``CSV_COLUMNS``, docs/bank.md). Each adapter only translates: it keeps no rule
about matching or payments. What they give back is checked here once
(``_line``): an entry reference, a booking date, an amount that is a positive
decimal at most its currency's minor unit, a known currency; anything else is
``invalid_value`` naming the entry, and nothing of the file is stored.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bank.models import Direction, StatementFormat
from billing.errors import BillingError, ErrorCode
from billing.money import currency_code, parse_money


@dataclass(frozen=True)
class ParsedLine:
    bank_ref: str
    booking_date: datetime.date
    amount: object  # Money, positive
    direction: str
    value_date: datetime.date | None = None
    remittance: str = ""
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""


@dataclass
class ParsedStatement:
    account: str
    currency: str = ""
    bank_statement_id: str = ""
    lines: list = field(default_factory=list)


# The bank CSV export: one header row with these names (any order; extra
# columns are ignored). ``amount`` is signed, a negative amount is a debit,
# written with a decimal point and no grouping (-15.00).
CSV_COLUMNS = (
    "account",
    "bank_reference",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_account",
    "end_to_end_id",
    "remittance",
)
CSV_REQUIRED = ("account", "bank_reference", "booking_date", "amount", "currency")

# Lengths of the StatementLine columns, so an over-long text is refused here,
# not cut by a database.
_LIMITS = {
    "bank_ref": 100,
    "remittance": 500,
    "end_to_end_id": 100,
    "counterparty_name": 140,
    "counterparty_account": 64,
}


def _refuse(message):
    raise BillingError(ErrorCode.INVALID_VALUE, message, field="file")


def _text(value):
    return " ".join(str(value).split()) if value is not None else ""


def _account(value):
    return re.sub(r"\s+", "", str(value or "")).upper()


def _date(value, where, label="booking date"):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        _refuse(f"{where}: the {label} {str(value)[:20]!r} is not a date (YYYY-MM-DD).")


def _line(where, *, bank_ref, booking_date, amount, currency, value_date=None, **texts):
    """One checked line. ``amount`` is signed: below zero is a debit."""
    bank_ref = _text(bank_ref)
    if not bank_ref:
        _refuse(f"{where}: the entry has no bank reference, so it could be imported twice.")
    if booking_date in (None, ""):
        _refuse(f"{where}: the entry has no booking date.")
    booking_date = _date(booking_date, where)
    value_date = _date(value_date, where, "value date") if value_date not in (None, "") else None
    try:
        currency = currency_code(currency)
    except BillingError:
        _refuse(f"{where}: {str(currency)[:10]!r} is not a known currency.")
    try:
        amount = Decimal(str(amount).strip())
    except InvalidOperation:
        _refuse(f"{where}: {str(amount)[:30]!r} is not an amount.")
    if not amount.is_finite() or amount == 0:
        _refuse(f"{where}: the amount {amount} is not a payment.")
    direction = Direction.CREDIT if amount > 0 else Direction.DEBIT
    try:
        money = parse_money(abs(amount), currency)
    except BillingError as error:
        _refuse(f"{where}: {error.message}")
    values = {"bank_ref": bank_ref, **{k: _text(v) for k, v in texts.items()}}
    for name, limit in _LIMITS.items():
        if len(values.get(name, "")) > limit:
            _refuse(f"{where}: the {name.replace('_', ' ')} is longer than {limit} characters.")
    return ParsedLine(
        booking_date=booking_date,
        value_date=value_date,
        amount=money,
        direction=direction,
        **values,
    )


# -- CAMT.053 (pycamt) -----------------------------------------------------------


def parse_camt053(data):
    from lxml.etree import XMLSyntaxError
    from pycamt.parser import Camt053ParseError, Camt053Parser

    try:
        parser = Camt053Parser(data)
        transactions = parser.get_transactions()
        infos = parser.get_statement_info()
        header = parser.get_group_header()
    except (XMLSyntaxError, Camt053ParseError, AttributeError, ValueError) as error:
        _refuse(f"The file is not a readable CAMT.053 statement ({type(error).__name__}).")
    statements = {}
    for info in infos:
        account = _account(info.get("IBAN"))
        statements.setdefault(
            account,
            ParsedStatement(
                account=account,
                currency=info.get("Currency") or "",
                bank_statement_id=header.get("MessageID") or "",
            ),
        )
    seen = {}
    for number, tx in enumerate(transactions, start=1):
        account = _account(tx.get("AccountIBAN"))
        if not account:
            _refuse(f"Entry {number}: the statement names no IBAN for its account.")
        if tx.get("Status") not in (None, "BOOK"):
            continue  # Pending or informational entries are not money that moved.
        ref = tx.get("TransactionID") or ""
        # An entry with several transactions: each keeps the entry's reference
        # and its place in it.
        seen[ref] = seen.get(ref, 0) + 1
        if seen[ref] > 1:
            ref = f"{ref}/{seen[ref]}"
        credit = tx.get("CreditDebitIndicator") == "CRDT"
        amount = Decimal(tx.get("Amount") or "0")
        statement = statements.setdefault(account, ParsedStatement(account=account))
        statement.lines.append(
            _line(
                f"Entry {ref or number}",
                bank_ref=ref,
                booking_date=tx.get("BookingDate"),
                value_date=tx.get("ValueDate"),
                amount=amount if credit else -amount,
                currency=tx.get("Currency") or statement.currency,
                remittance=tx.get("RemittanceInformationFull")
                or tx.get("RemittanceInformation")
                or tx.get("AdditionalEntryInformation")
                or "",
                end_to_end_id=_end_to_end(tx.get("EndToEndId")),
                counterparty_name=tx.get("DebtorName" if credit else "CreditorName") or "",
                counterparty_account=_account(
                    tx.get("DebtorIBAN" if credit else "CreditorIBAN") or ""
                ),
            )
        )
    return list(statements.values())


def _end_to_end(value):
    # "NOTPROVIDED" is ISO 20022's way of saying there is none.
    value = _text(value)
    return "" if value.upper() == "NOTPROVIDED" else value


# -- MT940 (mt-940) --------------------------------------------------------------

# The :86: field of many banks: /KEY/value/KEY/value (EREF end-to-end id,
# REMI remittance, NAME and IBAN of the counterparty). Other :86: text is kept
# whole as the remittance.
_MT940_KEYS = ("EREF", "REMI", "NAME", "IBAN", "BIC", "TRTP", "ORDP", "BENM", "CSID", "MARF")
_MT940_FIELD = re.compile(r"/(" + "|".join(_MT940_KEYS) + r")/")


def _mt940_details(text):
    text = _text(text)
    if not _MT940_FIELD.match(text):
        return {"remittance": text}
    parts = _MT940_FIELD.split(text)[1:]
    fields = {
        key: value.strip().strip("/").strip()
        for key, value in zip(parts[::2], parts[1::2], strict=True)
    }
    return {
        "remittance": fields.get("REMI", ""),
        "end_to_end_id": _end_to_end(fields.get("EREF", "")),
        "counterparty_name": fields.get("NAME", ""),
        "counterparty_account": _account(fields.get("IBAN", "")),
    }


def parse_mt940(data):
    import mt940

    text = data.decode("utf-8", errors="strict") if isinstance(data, bytes) else data
    # A file holds one message per account statement, each ended by a "-" line;
    # the library keeps one account per parse, so each message is read alone.
    messages = [m for m in re.split(r"(?m)^-\}?\s*$", text) if m.strip()]
    statements = []
    for message in messages:
        try:
            transactions = mt940.models.Transactions()
            transactions.parse(message)
        except Exception as error:  # mt-940 raises bare exceptions of many kinds.
            _refuse(f"The file is not a readable MT940 statement ({type(error).__name__}).")
        account = _account(transactions.data.get("account_identification"))
        if not account:
            continue
        opening = transactions.data.get("final_opening_balance")
        statement = ParsedStatement(
            account=account,
            currency=getattr(getattr(opening, "amount", None), "currency", "") or "",
            bank_statement_id=_text(transactions.data.get("transaction_reference")),
        )
        for number, transaction in enumerate(transactions, start=1):
            tx = transaction.data
            amount = tx["amount"]
            statement.lines.append(
                _line(
                    f"Entry {tx.get('bank_reference') or number}",
                    bank_ref=tx.get("bank_reference") or "",
                    booking_date=tx.get("entry_date") or tx.get("date"),
                    value_date=tx.get("date"),
                    amount=amount.amount,
                    currency=amount.currency,
                    **_mt940_details(tx.get("transaction_details") or ""),
                )
            )
        statements.append(statement)
    if not statements:
        _refuse("The file holds no MT940 statement.")
    return statements


# -- OFX (ofxtools) -------------------------------------------------------------


def parse_ofx(data):
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data if isinstance(data, bytes) else data.encode()))
        ofx = tree.convert()
        ofx_statements = ofx.statements
    except Exception as error:  # ofxtools raises its own errors and ValueErrors.
        _refuse(f"The file is not a readable OFX statement ({type(error).__name__}).")
    statements = []
    for ofx_statement in ofx_statements:
        account = _account(ofx_statement.account.acctid)
        statement = ParsedStatement(account=account, currency=ofx_statement.curdef or "")
        for tx in ofx_statement.transactions:
            other = getattr(tx, "bankacctto", None)
            statement.lines.append(
                _line(
                    f"Entry {tx.fitid}",
                    bank_ref=tx.fitid,
                    booking_date=tx.dtposted,
                    amount=tx.trnamt,
                    currency=(tx.currency.cursym if tx.currency else ofx_statement.curdef),
                    remittance=tx.memo or "",
                    end_to_end_id=tx.refnum or "",
                    counterparty_name=tx.name or "",
                    counterparty_account=_account(other.acctid) if other is not None else "",
                )
            )
        statements.append(statement)
    return statements


# -- CSV -------------------------------------------------------------------------


def parse_csv(data):
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        _refuse("The CSV file is not UTF-8 text.")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        _refuse(f"The CSV file has no column {', '.join(missing)} (docs/bank.md lists them).")
    reader.fieldnames = header
    statements = {}
    for row in reader:
        where = f"CSV line {reader.line_num}"
        account = _account(row.get("account"))
        if not account:
            _refuse(f"{where}: the account is empty.")
        statement = statements.setdefault(account, ParsedStatement(account=account))
        statement.lines.append(
            _line(
                where,
                bank_ref=row.get("bank_reference"),
                booking_date=row.get("booking_date"),
                value_date=row.get("value_date") or None,
                amount=row.get("amount") or "",
                currency=row.get("currency"),
                remittance=row.get("remittance") or "",
                end_to_end_id=_end_to_end(row.get("end_to_end_id")),
                counterparty_name=row.get("counterparty_name") or "",
                counterparty_account=_account(row.get("counterparty_account")),
            )
        )
    for statement in statements.values():
        currencies = {line.amount.currency.code for line in statement.lines}
        statement.currency = currencies.pop() if len(currencies) == 1 else ""
    return list(statements.values())


PARSERS = {
    StatementFormat.CAMT053: parse_camt053,
    StatementFormat.MT940: parse_mt940,
    StatementFormat.OFX: parse_ofx,
    StatementFormat.CSV: parse_csv,
}


def detect_format(data, file_name=""):
    """The format a file is in, from its first bytes (then its name), or None."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = head.lower()
    if b"camt.053" in lowered or (head.startswith(b"<?xml") and b"bktocstmrstmt" in lowered):
        return StatementFormat.CAMT053
    if lowered.startswith(b"ofxheader") or b"<ofx>" in lowered:
        return StatementFormat.OFX
    if re.match(rb"(\{1:[^}]*\}\s*(\{2:[^}]*\}\s*)?\{4:\s*)?:20:", head):
        return StatementFormat.MT940
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if "bank_reference" in first_line and "," in first_line:
        return StatementFormat.CSV
    suffixes = {".xml": None, ".sta": StatementFormat.MT940, ".mt940": StatementFormat.MT940}
    suffixes |= {".ofx": StatementFormat.OFX, ".qfx": StatementFormat.OFX}
    for suffix, kind in suffixes.items():
        if file_name.lower().endswith(suffix):
            return kind
    return None


def parse(data, *, format=None, file_name=""):
    """The statements in a file, as ``ParsedStatement``s. ``format`` is detected
    when not given; a file no adapter reads is ``invalid_value``."""
    format = format or detect_format(data, file_name)
    if format is None:
        _refuse(
            "The file's format could not be told from its content; "
            "name it with --format camt053, mt940, ofx or csv."
        )
    if format not in PARSERS:
        _refuse(f"{format!r} is not a statement format; use camt053, mt940, ofx or csv.")
    statements = PARSERS[format](data)
    if not any(statement.lines for statement in statements):
        _refuse("The file holds no statement entries.")
    return StatementFormat(format), statements
