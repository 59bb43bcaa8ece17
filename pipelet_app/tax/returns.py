"""A year's return from the database: compute, check, release/file with an audit trail, hand out PDFs.

Why release stores a fingerprint and PDFs are rendered on first download: releasing is the decision
("these figures are final"), rendering is mechanics (0.6 s per K-1). Release records a SHA-256 of the
return's complete input; the first download renders the PDF, checks that the books still produce the
released input, and stores the bytes with their hash. From then on every download is those bytes, so
what a partner receives never changes after release, and releasing 1,000 K-1s does not block a request
for ten minutes. Drafts are rendered on demand, watermarked, and never stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ReturnStatusDb,
    Role,
    Spv,
    SpvDocument,
    SpvPartner,
    SpvReturnEvent,
    SpvTaxYear,
)
from pipelet_app.domain.tax.errors import RuleViolation, TaxValidationError
from pipelet_app.domain.tax.form1065 import Form1065
from pipelet_app.domain.tax.inputs import Form1065Input
from pipelet_app.domain.tax.release import ReturnStatus, transition
from pipelet_app.domain.tax.serialize import input_to_dict
from pipelet_app.domain.tax.spv import SpvBooks, SpvResult, prepare
from pipelet_app.reports.tax_forms import (
    ReportStatus,
    form1065_filename,
    form1065_pdf,
    k1_filename,
    k1_pdf,
)
from pipelet_app.tax.books import LoadedBooks, load_books, partner_key


class BooksChanged(Exception):
    """The books no longer produce the return that was released: pull it back to draft first.

    Carries the SPV's name and the year, so a page can word the refusal in its own language."""

    def __init__(self, spv_name: str, year: int, detail: str = "the books changed since release") -> None:
        super().__init__(f"{spv_name} {year}: {detail}")
        self.spv_name, self.year = spv_name, year


@dataclass(frozen=True)
class YearReturn:
    """A computed year: the books it came from, the whole-SPV result through that year, the return."""

    loaded: LoadedBooks
    result: SpvResult
    form: Form1065
    data: Form1065Input
    row: SpvTaxYear

    @property
    def status(self) -> ReturnStatus:
        return ReturnStatus(str(self.row.status))


def _through(loaded: LoadedBooks, year: int) -> LoadedBooks:
    """Books up to `year` only: a later year's open error must not block an earlier year's return."""
    years = tuple(y for y in loaded.books.years if y.tax_year <= year)
    return replace(loaded, books=replace(loaded.books, years=years))


def _year_row(loaded: LoadedBooks, year: int) -> SpvTaxYear:
    row = loaded.years.get(year)
    if row is None:
        raise NotFound(f"year: {loaded.spv.name} has no books for tax year {year}")
    return row


_PREPARED_MAX = 16
_prepared: OrderedDict[str, SpvResult] = OrderedDict()
_prepared_lock = threading.Lock()


def books_fingerprint(books: SpvBooks) -> str:
    """SHA-256 of everything `prepare` reads. The books are frozen dataclasses of plain values loaded in
    id order, so their repr is canonical: equal books, equal fingerprint."""
    return hashlib.sha256(repr(books).encode()).hexdigest()


def prepare_cached(books: SpvBooks) -> SpvResult:
    """`prepare`, remembered by the books' fingerprint (a 1,000-partner SPV takes 0.3 s a year).

    Why a cache is safe: the result is a pure function of the books, and the key is a hash of all of
    them, so any change in the database (a receipt, a partner's TIN) is a different key. Failures are
    not cached: they are cheap and their message must name the current books.
    """
    key = books_fingerprint(books)
    with _prepared_lock:
        if (hit := _prepared.get(key)) is not None:
            _prepared.move_to_end(key)
            return hit
    result = prepare(books)
    with _prepared_lock:
        _prepared[key] = result
        while len(_prepared) > _PREPARED_MAX:
            _prepared.popitem(last=False)
    return result


def compute_loaded(loaded: LoadedBooks, year: int) -> YearReturn:
    """The return for `year` from books already loaded (one load serves every year of a page)."""
    row = _year_row(loaded, year)
    through = _through(loaded, year)
    result = prepare_cached(through.books)
    return YearReturn(through, result, result.returns[year], result.inputs[year], row)


def compute_year(db: Session, spv_id: int, year: int) -> YearReturn:
    """The return for `year`; raises TaxValidationError naming every broken rule, NotFound without books."""
    return compute_loaded(load_books(db, spv_id), year)


@dataclass(frozen=True)
class YearCheck:
    """What the sponsor's console shows for a year, from one computation."""

    violations: list[RuleViolation]
    released_matches: bool
    """Whether the books still produce the input that was released (False when it cannot compute)."""


def check_year(loaded: LoadedBooks, year: int) -> YearCheck:
    try:
        computed = compute_loaded(loaded, year)
    except TaxValidationError as exc:
        return YearCheck(list(exc.violations), False)
    return YearCheck([], computed.row.released_input_sha256 == fingerprint(computed.data))


def open_violations(db: Session, spv_id: int, year: int) -> list[RuleViolation]:
    """Every open violation of the year's return (empty when it computes cleanly)."""
    return check_year(load_books(db, spv_id), year).violations


def fingerprint(data: Form1065Input) -> str:
    """SHA-256 of the complete input, canonical JSON (money as strings): equal inputs, equal returns."""
    text = json.dumps(input_to_dict(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def transition_return(
    db: Session,
    spv_id: int,
    year: int,
    target: ReturnStatus,
    *,
    actor: str,
    actor_user_id: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> SpvReturnEvent:
    """Move the year's return to `target`, refusing (TaxValidationError) with any violation open.

    Release records the input fingerprint; going back to draft supersedes the stored PDFs, so a
    corrected K-1 replaces them at the next release.
    """
    now = now or utcnow()
    loaded = load_books(db, spv_id)
    row = _year_row(loaded, year)
    current = ReturnStatus(str(row.status))
    violations: list[RuleViolation] = []
    data: Form1065Input | None = None
    if target is not ReturnStatus.DRAFT:
        try:
            data = prepare_cached(_through(loaded, year).books).inputs[year]
        except TaxValidationError as exc:
            violations = list(exc.violations)
    change = transition(current, target, actor=actor, at=now, open_violations=violations, note=note)
    if target is ReturnStatus.RELEASED and data is not None:
        row.released_input_sha256 = fingerprint(data)
    if target is ReturnStatus.FILED and data is not None and row.released_input_sha256 != fingerprint(data):
        raise BooksChanged(loaded.spv.name, year, "the books changed since release; release again first")
    if target is ReturnStatus.DRAFT:
        row.released_input_sha256 = None
        for doc in db.exec(
            select(SpvDocument).where(
                SpvDocument.spv_id == spv_id,
                SpvDocument.tax_year == year,
                SpvDocument.superseded_at.is_(None),
            )
        ).all():
            doc.superseded_at, doc.current_key = now, None  # frees the key for the corrected document
            db.add(doc)
    row.status = ReturnStatusDb(target.value)
    row.updated_at = now
    db.add(row)
    event = SpvReturnEvent(
        spv_id=spv_id,
        tax_year=year,
        from_status=ReturnStatusDb(change.from_status.value),
        to_status=ReturnStatusDb(change.to_status.value),
        actor_user_id=actor_user_id,
        actor=actor,
        at=change.at,
        note=note,
    )
    db.add(event)
    db.flush()
    return event


def set_status(
    db: Session, principal: Principal, spv_id: int, year: int, target: str, note: str = ""
) -> SpvReturnEvent:
    """The guarded entry point for people: the sponsor's operators or an admin may release and file."""
    spv = db.get(Spv, spv_id)
    # Unknown and foreign SPVs answer alike, so an operator cannot probe which ids exist.
    require_sponsor(principal, spv.sponsor_tenant_id if spv is not None else None)
    try:
        wanted = ReturnStatus(target)
    except ValueError:
        raise InvalidInput(f"status: {target!r} is not one of draft, released, filed") from None
    return transition_return(
        db, spv_id, year, wanted, actor=principal.email, actor_user_id=principal.user_id, note=note
    )


def audit_trail(db: Session, spv_id: int, year: int) -> list[SpvReturnEvent]:
    return list(
        db.exec(
            select(SpvReturnEvent)
            .where(SpvReturnEvent.spv_id == spv_id, SpvReturnEvent.tax_year == year)
            .order_by(SpvReturnEvent.at, SpvReturnEvent.id)
        ).all()
    )


@dataclass(frozen=True)
class Pdf:
    content: bytes
    filename: str
    status: ReturnStatus
    sha256: str


def current_key(spv_id: int, year: int, kind: str, partner_id: int | None) -> str:
    """The unique key of the current document of its kind (see `SpvDocument.current_key`)."""
    return f"{spv_id}/{year}/{kind}/{partner_id if partner_id is not None else '-'}"


def _stored(db: Session, key: str) -> SpvDocument | None:
    return db.exec(select(SpvDocument).where(SpvDocument.current_key == key)).first()


def _store_once(db: Session, values: dict) -> None:
    """Insert the document unless one with its key exists: a concurrent first download that stored
    the same document a moment earlier wins, and no error or duplicate results (PostgreSQL waits for
    the other transaction and then does nothing; SQLite serialises the two writers)."""
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
    db.exec(insert(SpvDocument).values(**values).on_conflict_do_nothing(index_elements=["current_key"]))


def _pdf(
    db: Session, spv_id: int, year: int, kind: str, partner: SpvPartner | None, created_by: int | None
) -> Pdf:
    key = current_key(spv_id, year, kind, partner.id if partner else None)
    row = db.exec(select(SpvTaxYear).where(SpvTaxYear.spv_id == spv_id, SpvTaxYear.tax_year == year)).first()
    if row is not None and str(row.status) != ReturnStatus.DRAFT.value:
        # Released bytes are served without recomputing (a 1,000-partner return takes 0.3 s to compute).
        doc = _stored(db, key)
        if doc is not None:
            return Pdf(doc.content, doc.filename, ReturnStatus(str(row.status)), doc.sha256)
    computed = compute_year(db, spv_id, year)
    status = computed.status
    if status is not ReturnStatus.DRAFT and computed.row.released_input_sha256 != fingerprint(computed.data):
        raise BooksChanged(computed.loaded.spv.name, year)
    report = ReportStatus(status.value)
    if partner is not None:
        k1 = computed.form.k1_for(partner_key(partner.id))
        # The partner's copy: TIN truncated, so a forwarded PDF does not carry the full number.
        content, filename = k1_pdf(k1, report, truncate_partner_tin=True), k1_filename(k1)
    else:
        content, filename = form1065_pdf(computed.form, report), form1065_filename(computed.form)
    if status is ReturnStatus.DRAFT:
        return Pdf(content, filename, status, hashlib.sha256(content).hexdigest())
    _store_once(
        db,
        {
            "spv_id": spv_id,
            "tax_year": year,
            "partner_id": partner.id if partner else None,
            "kind": kind,
            "status": ReturnStatusDb(status.value),
            "filename": filename,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size_bytes": len(content),
            "content": content,
            "created_by": created_by,
            "created_at": utcnow(),
            "current_key": key,
        },
    )
    stored = _stored(db, key)  # ours, or the one a concurrent download stored first: the same for all
    assert stored is not None
    return Pdf(stored.content, stored.filename, status, stored.sha256)


def k1_document(db: Session, partner: SpvPartner, year: int, created_by: int | None = None) -> Pdf:
    """The partner's K-1 for `year`: stored bytes once released, a watermarked draft before.

    No authorisation here: callers (portal, API) have already proven the partner is the caller's.
    """
    return _pdf(db, partner.spv_id, year, "k1", partner, created_by)


def form1065_document(db: Session, spv_id: int, year: int, created_by: int | None = None) -> Pdf:
    return _pdf(db, spv_id, year, "form1065", None, created_by)


def require_sponsor(principal: Principal, sponsor_tenant_id: int | None) -> None:
    """Operators of the sponsoring tenant (or an admin) manage an SPV; anyone else sees nothing.
    `sponsor_tenant_id` None means no such SPV: NotFound for everyone."""
    require(principal, Role.OPERATOR, Role.ADMIN)
    if sponsor_tenant_id is None or (
        principal.role is Role.OPERATOR and principal.tenant_id != sponsor_tenant_id
    ):
        raise NotFound("Not found.")
