"""Logging: JSON lines through structlog, with the stdlib and uvicorn routed through it."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from typing import Any

import orjson
import structlog

from supplytrack.core.settings import Settings


def _dumps(value: Any, **_kwargs: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(settings: Settings) -> None:
    """Send every log record (ours, uvicorn's, SQLAlchemy's) as one JSON line per event."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )
    streams: list[logging.StreamHandler[Any]] = [logging.StreamHandler(sys.stdout)]
    log_file = settings.log_file
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        streams.append(logging.handlers.WatchedFileHandler(log_file, encoding="utf-8"))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    tee = _Tee(streams)
    tee.setFormatter(formatter)
    root.addHandler(tee)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "huey"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # We log each request ourselves (with the route template, actor and query count).
    logging.getLogger("uvicorn.access").disabled = True


class _Tee(logging.Handler):
    """Format each record once and write the same line to every output (stdout, file)."""

    def __init__(self, outputs: list[logging.StreamHandler[Any]]) -> None:
        super().__init__()
        self.outputs = outputs

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted line to each output."""
        try:
            line = self.format(record)
            for output in self.outputs:
                if isinstance(output, logging.handlers.WatchedFileHandler):
                    output.reopenIfNeeded()  # the file was rotated away: write to a new one
                output.acquire()
                try:
                    output.stream.write(line + output.terminator)
                    output.flush()
                finally:
                    output.release()
        except Exception:
            self.handleError(record)
