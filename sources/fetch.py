"""Fetching from the live sources over HTTP: one GET with retries, and every way it can fail as a
typed error whose message says what happened and what to do. The sources' own fetchers build the
URLs and judge what an answer means (sources/imf_imts/live.py); nothing here knows a source.

Retries are urllib3's (`Retry`, through a requests Session): a refused or dropped connection, a
timeout, and the answers 429, 500, 502, 503 and 504 are tried again, up to `retries` times, with
exponential backoff (`backoff` x 2^n seconds, at most BACKOFF_MAX), waiting what a Retry-After
header asks instead where the answer has one. A Retry-After longer than `max_wait` is not waited
for: the fetch fails at once with RateLimited (a scheduled run tries again at its next tick). A
body cut short is fetched again the same way (urllib3 reads the body after its retries are done).

Failures (FetchError and its subclasses; each carries `url`, never a key):
    RateLimited      429 after the retries, or a Retry-After longer than max_wait
    QuotaExhausted   the service says the call quota is spent (Comtrade+: "Out of call volume quota")
    ServerError      5xx after the retries
    ClientError      another 4xx: a bad query, an unknown code, a wrong key
    FetchTimeout     no answer within `timeout` seconds, after the retries
    Truncated        the body ended before its Content-Length or last chunk, every time
    NotData          an HTML page, or an answer the caller's `read` refuses (an error text sent with 200)
    EmptyAnswer      (raised by a source's fetcher) no data where the availability endpoint promised some
    ConnectionFailed the host cannot be reached
A FetchError leaves nothing behind: the caller saves an answer only once `get` returned it whole.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from tradewh.sources.contract import looks_like_html

RETRIES = 4
BACKOFF = 0.5  # seconds; doubled after each failed try
BACKOFF_MAX = 30.0
MAX_WAIT = 120.0  # longest Retry-After waited for, in seconds
TIMEOUT = 60.0  # seconds to connect, and between bytes of the answer
RETRY_STATUS = (429, 500, 502, 503, 504)
USER_AGENT = "tradewh (bilateral trade warehouse; https://github.com/)"
_QUOTA = re.compile(rb"out of call volume quota|quota (?:exceeded|exhausted|will be replenished)", re.IGNORECASE)
_SECRET_PARAMS = re.compile(r"((?:subscription-key|api[_-]?key|token)=)[^&]+", re.IGNORECASE)


def redact(url: str) -> str:
    """`url` without the value of a key given as a query parameter (for messages and logs)."""
    return _SECRET_PARAMS.sub(r"\1***", url)


class FetchError(Exception):
    """A fetch that gave no usable answer. `kind` names the failure (the class's KIND)."""

    KIND = "failed"

    def __init__(self, url: str, message: str):
        self.url = redact(url)
        self.kind = self.KIND
        super().__init__(f"{self.url}: {message}")


class RateLimited(FetchError):
    KIND = "rate_limited"


class QuotaExhausted(FetchError):
    KIND = "quota_exhausted"


class ServerError(FetchError):
    KIND = "server_error"


class ClientError(FetchError):
    KIND = "client_error"


class FetchTimeout(FetchError):
    KIND = "timeout"


class Truncated(FetchError):
    KIND = "truncated"


class NotData(FetchError):
    KIND = "not_data"


class EmptyAnswer(FetchError):
    KIND = "empty"


class ConnectionFailed(FetchError):
    KIND = "connection_failed"


class WaitTooLong(Exception):
    """Raised inside urllib3's retry loop when a Retry-After asks for more than max_wait."""

    def __init__(self, seconds: float):
        self.seconds = seconds


class _Retry(Retry):
    """urllib3's Retry, refusing to wait longer than `max_wait` for a Retry-After (urllib3 would
    cap the wait at retry_after_max and try again before the service wants it)."""

    def __init__(self, *args, max_wait: float = MAX_WAIT, **kwargs):
        self.max_wait = max_wait
        super().__init__(*args, **kwargs)

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_wait = self.max_wait
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = super().parse_retry_after(retry_after)
        if seconds > self.max_wait:
            raise WaitTooLong(seconds)
        return seconds


@dataclass(frozen=True)
class Answer:
    """A whole answer: the URL asked (key redacted), when it arrived (UTC), its status, content type
    and body (decoded from any Content-Encoding), and the body's SHA-256, which identifies it;
    `data`: what the caller's `read` made of the body (get's `read`), else None."""

    url: str
    fetched_at: datetime
    status: int
    content_type: str
    body: bytes
    data: Any = field(default=None, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def session(retries: int = RETRIES, backoff: float = BACKOFF, max_wait: float = MAX_WAIT) -> requests.Session:
    """A requests Session that retries as the module docstring says."""
    retry = _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        backoff_max=BACKOFF_MAX,
        status_forcelist=RETRY_STATUS,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        max_wait=max_wait,
    )
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s


def get(
    url: str,
    *,
    params: dict | None = None,
    headers: dict | None = None,
    read: Callable[[Answer], Any] | None = None,
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    backoff: float = BACKOFF,
    max_wait: float = MAX_WAIT,
    http: requests.Session | None = None,
) -> Answer:
    """GET `url` and return the whole Answer, or raise the FetchError that says why not.

    `headers` may carry a key (e.g. Ocp-Apim-Subscription-Key): headers never appear in messages.
    `read(answer)` turns a 200 answer into the caller's data (kept as `answer.data`), or raises
    ValueError saying why it is no data (an error text): NotData with that reason. The body is read
    once. An HTML page is refused without asking it.
    """
    http = http or session(retries, backoff, max_wait)
    shown = redact(requests.Request("GET", url, params=params).prepare().url or url)
    for attempt in range(retries + 1):
        try:
            response = http.get(url, params=params, headers=headers, timeout=timeout)
            body = response.content  # reads, decodes and checks the length of the body
        except WaitTooLong as exc:
            raise RateLimited(
                shown,
                f"the service asks to wait {exc.seconds:.0f} s before asking again "
                f"(Retry-After), longer than {max_wait:.0f} s: try again later",
            ) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            if attempt < retries:
                time.sleep(min(BACKOFF_MAX, backoff * 2**attempt))
                continue
            raise Truncated(
                shown, f"the answer was cut short {retries + 1} times ({_reason(exc)}); nothing was saved"
            ) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise FetchTimeout(shown, f"could not connect within {timeout:g} s, {retries + 1} tries") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise FetchTimeout(shown, f"no answer within {timeout:g} s, {retries + 1} tries") from exc
        except requests.exceptions.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, NewConnectionError) or reason is None:  # (a subclass of ConnectTimeoutError)
                raise ConnectionFailed(shown, f"cannot reach the host, {retries + 1} tries ({_reason(exc)})") from exc
            if isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)):
                raise FetchTimeout(shown, f"no answer within {timeout:g} s, {retries + 1} tries") from exc
            raise ConnectionFailed(shown, f"the connection failed {retries + 1} times ({_reason(exc)})") from exc
        break

    answer = Answer(
        shown,
        datetime.now(timezone.utc).replace(tzinfo=None),
        response.status_code,
        response.headers.get("Content-Type", ""),
        body,
    )
    text = body[:300].decode("utf-8", "replace").strip()
    if _QUOTA.search(body[:2000]):
        raise QuotaExhausted(
            shown,
            f"the call quota is spent (HTTP {response.status_code}: {text!r}); "
            "it is replenished daily: try again later",
        )
    if response.status_code == 429:
        raise RateLimited(shown, f"too many requests (HTTP 429) after {retries + 1} tries: try again later")
    if response.status_code >= 500:
        raise ServerError(shown, f"the service failed (HTTP {response.status_code}) {retries + 1} times: {text!r}")
    if response.status_code >= 400:
        raise ClientError(shown, f"the service refused the query (HTTP {response.status_code}): {text!r}")
    if "text/html" in answer.content_type.lower() or looks_like_html(body[:1024]):
        raise NotData(
            shown,
            f"an HTML page instead of data (HTTP {response.status_code}, {answer.content_type or 'no content type'}): {text[:120]!r}",
        )
    if read is None:
        return answer
    try:
        return replace(answer, data=read(answer))
    except ValueError as exc:
        raise NotData(shown, str(exc)) from exc


def _reason(exc: BaseException) -> str:
    return str(exc.args[0] if exc.args else exc)[:200]
