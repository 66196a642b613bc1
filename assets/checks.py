"""Turn expectations' CheckOutcomes into Dagster asset-check specs and results (counts, a few
failing rows) and into rows of meta.check_results."""

import json

import dagster as dg

from tradewh.assets.metadata import table_rows
from tradewh.expectations.checks import CHECKS, Check, checks_for
from tradewh.expectations.runner import CheckOutcome


def specs(asset: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One AssetCheckSpec per check of `asset` ("raw" or "canonical"), blocking as the check says."""
    return [
        dg.AssetCheckSpec(c.name, asset=key, blocking=c.blocking, description=c.description) for c in checks_for(asset)
    ]


def result(outcome: CheckOutcome, seconds: float) -> dg.AssetCheckResult:
    """A check that could not run is an ERROR (never a pass); a blocking failure is an ERROR; a
    warning check that found rows is a WARN."""
    severity = dg.AssetCheckSeverity.ERROR if (outcome.blocking or outcome.error) else dg.AssetCheckSeverity.WARN
    metadata = {
        "status": outcome.status,
        "checked_rows": outcome.checked_rows,
        "failing_rows": outcome.failing_rows,
        "seconds": round(seconds, 3),
    }
    if outcome.examples:
        metadata["examples"] = table_rows(outcome.examples)
    if outcome.error:
        metadata["error"] = outcome.error
    return dg.AssetCheckResult(check_name=outcome.name, passed=outcome.passed, severity=severity, metadata=metadata)


def row(check: Check, outcome: CheckOutcome, seconds: float) -> dict:
    """A meta.check_results row."""
    return {
        "check_name": outcome.name,
        "asset": check.asset,
        "blocking": check.blocking,
        "status": outcome.status,
        "checked_rows": outcome.checked_rows,
        "failing_rows": outcome.failing_rows,
        "seconds": seconds,
        "examples_json": json.dumps(outcome.examples, default=str),
        "error": outcome.error,
        "description": check.description,
    }


def failure_rows(outcome: CheckOutcome) -> list[dict]:
    """meta.check_failures rows for one outcome."""
    return [{"check_name": outcome.name, "row_json": json.dumps(r, default=str)} for r in outcome.failures]


def records(outcomes: list[tuple[CheckOutcome, float]]) -> dict[str, list[dict]]:
    """{"results": meta.check_results rows, "failures": meta.check_failures rows} for (outcome, seconds)."""
    by_name = {c.name: c for c in CHECKS}
    return {
        "results": [row(by_name[o.name], o, secs) for o, secs in outcomes],
        "failures": [f for o, _ in outcomes for f in failure_rows(o)],
    }
