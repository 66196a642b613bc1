"""Run a check's Great Expectations suite on a pandas frame and turn the results into a CheckOutcome.

GX 1.x is imported here and only here, lazily (it costs ~3 s), so code paths that do not validate
never pay for it. GX has no Polars engine: frames arrive as pandas. Every expectation result's
`exception_info` is read: an expectation that raised makes the check an *error* (it could not run),
never a pass and never a plain failure.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where frames are validated (the GX helper), not by the pipeline
    import pandas as pd


EXAMPLES = 5
MAX_FAILURES_KEPT = 10_000  # failing rows kept per check for meta.check_failures (all are counted)


@dataclass
class CheckOutcome:
    """What one check found. passed is False for failures and errors; error says it could not run."""

    name: str
    blocking: bool
    passed: bool
    checked_rows: int
    failing_rows: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)  # one per expectation
    failures: list[dict[str, Any]] = field(default_factory=list)  # up to MAX_FAILURES_KEPT failing rows

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.passed:
            return "passed"
        return "failed" if self.blocking else "warning"


def _gx():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    return gx, ProgressBarsConfig


def raised(exception_info: Any) -> str | None:
    """The exception message if a GX result (or any metric behind it) raised, else None.

    GX 1.x gives either {"raised_exception": bool, "exception_message": ...} or a dict of those keyed
    by metric id; both are handled.
    """
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        return (
            exception_info.get("exception_message") or "unknown GX error"
            if exception_info["raised_exception"]
            else None
        )
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return info.get("exception_message") or "unknown GX error"
    return None


def validate(
    name: str,
    blocking: bool,
    frame: "pd.DataFrame",
    expectations: list,
    example_columns: list[str],
    keep: int = MAX_FAILURES_KEPT,
) -> CheckOutcome:
    """Validate `frame` against `expectations` (GX 1.x Expectation objects) as one suite.

    The check passes when every expectation succeeds. failing_rows counts the distinct failing rows
    over all expectations; examples are up to EXAMPLES of them and failures up to `keep`, with
    `example_columns`.
    Never raises for a GX problem: it comes back as an outcome with `error` set.
    """
    try:
        gx, progress_bars = _gx()
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = progress_bars(globally=False)
        batch = (
            context.data_sources.add_pandas(f"{name}_source")
            .add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        suite = gx.ExpectationSuite(name=name)
        for i, expectation in enumerate(expectations):
            expectation.meta = {"check": name, "n": i}
            suite.add_expectation(expectation)
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": example_columns,
                "partial_unexpected_count": EXAMPLES,
                "return_unexpected_index_query": False,
            },
        )
    except Exception as exc:  # GX setup or validation blew up: the check could not run
        return CheckOutcome(name, blocking, False, len(frame), 0, error=f"{type(exc).__name__}: {exc}")

    details, errors, failing_index = [], [], set()
    for er in sorted(result.results, key=lambda r: r.expectation_config.meta.get("n", 0)):
        message = raised(er.exception_info)
        res = er.result or {}
        index_list = res.get("unexpected_index_list") or []
        details.append(
            {
                "expectation": er.expectation_config.type,
                "kwargs": {k: v for k, v in er.expectation_config.kwargs.items() if k not in ("value_set",)},
                "success": bool(er.success) and message is None,
                "unexpected_count": int(res.get("unexpected_count") or 0),
                "error": message,
            }
        )
        if message:
            errors.append(f"{er.expectation_config.type}: {message}")
        elif not er.success:
            failing_index.update(_row_key(row, example_columns) for row in index_list)
            if not index_list and res.get("unexpected_count"):  # aggregate expectations have no rows
                failing_index.add(("(aggregate)", er.expectation_config.type))
    rows = [dict(zip(example_columns, key)) for key in sorted(failing_index, key=str) if key[0] != "(aggregate)"]
    failures = rows[:keep]
    if errors:
        return CheckOutcome(
            name, blocking, False, len(frame), len(failing_index), rows[:EXAMPLES], "; ".join(errors), details, failures
        )
    passed = all(d["success"] for d in details)
    return CheckOutcome(
        name, blocking, passed, len(frame), len(failing_index), rows[:EXAMPLES], None, details, failures
    )


def _row_key(row: dict, columns: list[str]) -> tuple:
    return tuple(_plain(row.get(c)) for c in columns)


def _plain(v: Any) -> Any:
    """numpy/pandas scalars -> plain Python (for metadata and JSON)."""
    if hasattr(v, "item"):
        return v.item()
    if type(v).__name__ == "Timestamp":  # pandas.Timestamp, without importing pandas
        return v.isoformat()
    return v
