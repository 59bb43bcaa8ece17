"""Internal codes and developer error texts in people's words, through the one catalogue.

Services speak in codes (OCPP reasons and error codes, role values, exception messages naming a field);
pages call these right before showing them. A code without a catalogue entry is shown as it is, so a new
value is visible rather than blank.
"""

from __future__ import annotations

import re

from pipelet_app.domain.tax.errors import RuleViolation, Sentence, TaxValidationError, Violations
from pipelet_app.i18n.catalogue import MESSAGES
from pipelet_app.i18n.formatting import shown


def _lookup(key: str, locale: str) -> str | None:
    return MESSAGES.get(locale, MESSAGES["en"]).get(key) or MESSAGES["en"].get(key)


def label(group: str, code: str, locale: str) -> str:
    """`group.code` from the catalogue (e.g. `reason.pv-native`), else the code itself."""
    return _lookup(f"{group}.{code}", locale) or code


_MISSING = re.compile(r"[\w.\[\]]+: data must contain \[(?P<fields>[^\]]*)\](?: properties)?$")
_ROLE_TENANT = re.compile(r"^tenant: an? (?P<role>\w+) needs an? (?P<kind>\w+) tenant$")
#: the SPV lifecycle's refusals (`domain.tax.compliance.next_phase`, `tax.console.advance_phase`)
_OPEN_STEPS = re.compile(r"^(?:phase: )?(?P<phase>[A-Z]+) still has open steps: (?P<steps>.+)$")
_LAST_PHASE = "phase: the SPV is already in its last phase"
#: what services answer for a missing id and for another tenant's alike (`errors.NotFound`)
_NOT_FOUND = "Not found."


def error_text(message: str, locale: str) -> str:
    """A service's error message as people read it; messages already in plain words pass unchanged."""
    if found := _MISSING.search(message):
        names = re.findall(r"'([^']+)'", found["fields"])
        fields = ", ".join(label("field", name, locale) for name in names)
        return (_lookup("error.missing_fields", locale) or "").format(fields=fields)
    if found := _ROLE_TENANT.match(message):
        return (_lookup("error.role_tenant", locale) or "").format(
            role=label("role", found["role"], locale), kind=label("tenant_kind", found["kind"], locale)
        )
    if found := _OPEN_STEPS.match(message):
        return (_lookup("error.open_steps", locale) or "").format(
            phase=label("spv_phase", found["phase"].lower(), locale), steps=found["steps"]
        )
    if message == _LAST_PHASE:
        return _lookup("error.last_phase", locale) or message
    if message == _NOT_FOUND:
        return _lookup("error.not_found", locale) or message
    return message


def command_error_text(command: str, kind: str, detail: str, locale: str) -> str:
    """Why a charger command failed, e.g. `reset` + ChargerOffline: the reason in words, no class or HTTP
    status; the charger's or the schema's own detail only where it helps (a refused payload)."""
    reason = _lookup(f"command_error.{kind}", locale) or detail
    if kind == "InvalidCommandPayload":
        reason = f"{reason} {error_text(detail, locale)}"
    return f"{label('command', command, locale)}: {reason}"


def rule_sentence(words: Sentence, locale: str) -> str:
    """A tax rule's explanation (`domain.tax.errors.Sentence`) from the catalogue (`tax_rule.<code>`), its
    numbers and dates as the page writes them (call inside `in_locale`), a reason within it worded too."""
    args = {name: _worded(value, locale) for name, value in words.args}
    template = _lookup(f"tax_rule.{words.code}", locale)
    return template.format(**args) if template else str(words)


def violation_text(violation: RuleViolation, locale: str) -> str:
    """`[RULE] field: explanation` for a page: the rule id and the field stay as they are (ids the sponsor
    searches and the rules name), the explanation in the page's language. English keeps the rules' own text
    (what the CLI, the API and mail say); so does a violation the rules gave no `Sentence` for."""
    if locale == "en" or violation.words is None:
        return str(violation)
    return f"[{violation.rule}] {violation.field}: {rule_sentence(violation.words, locale)}"


def _worded(value: object, locale: str) -> object:
    if isinstance(value, Sentence):
        return rule_sentence(value, locale)
    if isinstance(value, Violations):
        return "; ".join(violation_text(v, locale) for v in value)
    if value is None or isinstance(value, str):
        return value  # as given: a `!r` in the sentence quotes it as the English does
    return shown(value)


def refusal_text(refused: TaxValidationError, locale: str) -> str:
    """A refused tax action (a release with violations open, say) for the page's error: each violation as
    `violation_text` words it, joined as the exception's own text joins them (the same text in English)."""
    return "; ".join(violation_text(v, locale) for v in refused.violations)
