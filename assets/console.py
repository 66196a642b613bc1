"""The runs' console logger: Dagster's console output (time, level, run, step, message on stderr),
where the errors' tracebacks can be left out.

`tradewh build` leaves them out unless --verbose and prints one line per failure itself (with the
bad files in plain words and where the full log is); a run from the web UI or the daemon keeps
them, since there the console is a log file. The run's event log in DAGSTER_HOME always has
everything.
"""

import logging
import sys

import dagster as dg


class _WithoutErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, default_value="INFO", is_required=False,
                              description="Lowest level printed: DEBUG, INFO, WARNING, ERROR or CRITICAL."),
        "errors": dg.Field(bool, default_value=True, is_required=False,
                           description="Print ERROR records (failed steps with their tracebacks)."),
    },
    description="Dagster's console output on stderr; ERROR records (tracebacks) can be left out.",
)
def console(init_context: dg.InitLoggerContext) -> logging.Logger:
    """A logging.Logger named "dagster" printing to stderr at `log_level`, without ERROR records if
    `errors` is false. Raises ValueError for a level name logging does not know."""
    level = init_context.logger_config["log_level"].upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"unknown log level {level!r}")
    logger = logging.Logger("dagster", level=level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    if not init_context.logger_config["errors"]:
        handler.addFilter(_WithoutErrors())
    logger.addHandler(handler)
    return logger
