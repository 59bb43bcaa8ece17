"""Tax equity for SPVs that own chargers: MACRS, bonus, §30C, the flip, capital accounts, Form 1065, K-1s.

Pure logic (standard library only): money is `Decimal` to the cent, shares are fractions of 1, and
every rate, table and date comes from `rules` with its effective date and source. Inputs that break a
rule raise `errors.TaxValidationError`, carrying every `RuleViolation` (stable rule id, field, message).

`spv.prepare(SpvBooks)` runs the whole chain for consecutive years in one call; the steps it takes:

1. `assets.build_register(assets)` -> depreciation per year (MACRS + bonus, convention by the 40 % test)
   and §30C credits per port (basis reduced by the credit).
2. `books.projection_for(year, figures, cash, contributions)` per year -> `flip.run_flip(terms, years)`
   -> each year's shares, allocations, §704(b) capital accounts, flip year and IRRs.
3. `books.partner_years(flip, year, partner_infos, last_item_l, last_book_capital)` -> `Form1065Input`
   -> `form1065.compute_return` -> `Form1065` with Schedules B (partly), K, L, M-1, M-2, Analysis of
   Net Income and one `k1.K1` per partner.
4. `release.check_return` / `release.transition` -> draft, released, filed with an audit entry.
5. `pipelet_app.reports.tax_forms` / `pipelet_app.reports.batch` -> PDFs.

`compliance` computes lifecycle, filing-deadline and §30C alerts; `sample` builds demo SPVs;
`serialize` reads and writes `Form1065Input` as JSON (`pipelet tax k1 --input`).

Modelled: calendar or fiscal twelve-month tax years; MACRS GDS 3/5/7/15-year (Pub. 946 A-1..A-5);
bonus by acquisition date with the class-wide elections; §30C per port; the IRR flip with regulatory
loss limitation (losses beyond a non-DRO partner's capital move to DRO partners). Not modelled: short
years, dispositions and recapture, §179, §704(c) property, QIO income allocations, Schedules K-2/K-3
and M-3, state returns.
"""
