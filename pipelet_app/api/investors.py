"""`/api/v1/investors/me`: the caller's own K-1s (list and PDF) and capital account statement.

Ownership is checked in `services.investors` (the same functions the portal uses): another
investor's partner id answers 404 exactly like an id that does not exist. The PDFs are computed and
rendered on the heavy lane (`runtime.offload`), so many downloads at once cannot starve other requests.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.runtime import offload
from pipelet_app.services import investors as data
from pipelet_app.tax.returns import Pdf

router = APIRouter(prefix="/investors/me", tags=["investors"])
ERRORS = {**KEYED, **documented(404, not_found="Not one of your partnerships, or no K-1 for that year")}
PDF = {200: {"content": {"application/pdf": {}}, "description": "The PDF"}}


class K1Entry(BaseModel):
    spv_id: int
    spv: str
    partner_id: int
    partner: str
    tax_year: int
    status: str
    final: bool
    download_url: str


def _pdf(pdf: Pdf) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{pdf.filename}"', "Cache-Control": "no-store"}
    if pdf.sha256:
        headers["X-Content-SHA256"] = pdf.sha256
    return Response(pdf.content, media_type="application/pdf", headers=headers)


@router.get("/k1", response_model=list[K1Entry], responses=ERRORS)
def list_k1s(
    principal: Caller,
    db: DB,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Tax year; all years when absent")
    ] = None,
) -> list[K1Entry]:
    """The caller's K-1s: one per partnership and tax year, `final` once released."""
    return [K1Entry(**entry) for entry in data.k1_list(db, principal, year)]


@router.get("/k1/{partner_id}/{year}.pdf", responses={**ERRORS, **PDF})
async def k1_pdf(
    partner_id: Annotated[int, Path(ge=1)],
    year: Annotated[int, Path(ge=2000, le=2100)],
    principal: Caller,
    db: DB,
) -> Response:
    """One K-1 as PDF: the released bytes once final, a watermarked draft before."""
    return _pdf(await offload.heavy(data.k1_pdf, db, principal, partner_id, year))


@router.get("/capital-statement/{partner_id}.pdf", responses={**ERRORS, **PDF})
async def capital_statement(partner_id: Annotated[int, Path(ge=1)], principal: Caller, db: DB) -> Response:
    """The partner's capital account statement (§704(b) and tax basis) as PDF."""
    return _pdf(await offload.heavy(data.capital_statement, db, principal, partner_id))
