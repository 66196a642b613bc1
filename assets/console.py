"""The runs' console logger: Dagster's console output (time, level, run, step, message on stderr),
where the errors' tracebacks can be left out, and, on a terminal, a progress display.

`tradewh build` leaves the tracebacks out unless --verbose and prints one line per failure itself
(with the bad files in plain words and where the full log is); a run from the web UI or the daemon
keeps them, since there the console is a log file. The run's event log in DAGSTER_HOME always has
everything. With `progress` (tradewh build sets it) and stderr a terminal, a live display (rich)
shows the step running, how long it has run, and the files parsed so far; it is gone when the run
ends, and off when stderr is not a terminal (a pipe, a log file, CI).
"""

import logging
import re
import sys

import dagster as dg

# How the ingest step reports files parsed (assets/ingest.py), and how the progress display reads it.
FILES_PARSED = "{source}: parsed {done} of {total} files"
_FILES_PARSED = re.compile(r"^(?P<source>\S+): parsed (?P<done>\d+) of (?P<total>\d+) files$")


# the events that end a run (Dagster still names them PIPELINE_* in its log records)
RUN_ENDS = {f"{prefix}_{end}" for prefix in ("RUN", "PIPELINE") for end in ("SUCCESS", "FAILURE", "CANCELED")}


def files_parsed(source: str, done: int, total: int) -> str:
    """The log message that says `done` of `total` files of `source` are parsed."""
    return FILES_PARSED.format(source=source, done=done, total=total)


class _WithoutErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


class _Stderr:
    """sys.stderr as it is at each write: a live display redirects it, and log lines then print above
    the display instead of through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class ProgressHandler(logging.Handler):
    """A live display of a run, fed by its log records: one line per step running (spinner, step,
    elapsed time) and one per source whose files are being parsed (bar, files done of total). Started
    at the first step, stopped at the run's end (transient: nothing is left on the screen)."""

    def __init__(self, console=None) -> None:
        super().__init__(level=logging.DEBUG)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self.tasks: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            meta = record.__dict__.get("dagster_meta") or {}
            event, step = meta.get("dagster_event"), meta.get("step_key")
            kind = getattr(event, "event_type_value", None)
            if kind == "STEP_START":
                self.progress.start()
                self.tasks[step] = self.progress.add_task(f"step {step}", total=None)
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                for key in [k for k in self.tasks if k == step or k.startswith(f"{step}/")]:  # the step and its files
                    self.progress.remove_task(self.tasks.pop(key))
            elif kind in RUN_ENDS:
                self.progress.stop()
            elif event is None and (m := _FILES_PARSED.match(str(meta.get("orig_message") or ""))):
                key = f"{step}/files {m['source']}"
                if key not in self.tasks:
                    self.tasks[key] = self.progress.add_task(f"  parsing {m['source']} files", total=int(m["total"]))
                self.progress.update(self.tasks[key], completed=int(m["done"]))
        except Exception:  # a display must never fail a run
            self.handleError(record)


@dg.logger(
    config_schema={
        "log_level": dg.Field(
            str,
            default_value="INFO",
            is_required=False,
            description="Lowest level printed: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        ),
        "errors": dg.Field(
            bool,
            default_value=True,
            is_required=False,
            description="Print ERROR records (failed steps with their tracebacks).",
        ),
        "progress": dg.Field(
            bool,
            default_value=False,
            is_required=False,
            description="On a terminal, show the step running and the files parsed (rich).",
        ),
    },
    description="Dagster's console output on stderr; ERROR records (tracebacks) can be left out; a progress "
    "display on a terminal.",
)
def console(init_context: dg.InitLoggerContext) -> logging.Logger:
    """A logging.Logger named "dagster" printing to stderr at `log_level`, without ERROR records if
    `errors` is false, with a ProgressHandler if `progress` and stderr is a terminal. Raises
    ValueError for a level name logging does not know."""
    level = init_context.logger_config["log_level"].upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"unknown log level {level!r}")
    progress = init_context.logger_config["progress"] and sys.stderr.isatty()
    logger = logging.Logger("dagster", level=logging.DEBUG if progress else level)
    handler = logging.StreamHandler(_Stderr())
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    if not init_context.logger_config["errors"]:
        handler.addFilter(_WithoutErrors())
    logger.addHandler(handler)
    if progress:
        logger.addHandler(ProgressHandler())
    return logger
