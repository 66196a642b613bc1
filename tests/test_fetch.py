"""sources/fetch.py against a real HTTP server on 127.0.0.1 (tests/loopback.py): recorded answers,
and each fault of issue 13 shaped like the real ones."""

import socket
import time

import pytest

from tradewh.sources import fetch
from tradewh.sources.imf_sdmx import read_sdmx3

from loopback import Loopback, Reply
from test_imf_api import LEGACY, SDMX3, recorded_body

FAST = {"backoff": 0.01, "retries": 2}  # the tests' backoff: the retry policy, not the waiting, is under test
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def server():
    with Loopback() as s:
        yield s


def test_a_recorded_answer_arrives_whole_and_decoded(server, tmp_path):
    server.script("/imts", [Reply.recorded(SDMX3, "/data/dataflow/IMF.STA/IMTS/")])
    server.script("/dot", [Reply.recorded(LEGACY, "CompactData/DOT/")])
    answer = fetch.get(server.url("/imts"), **FAST)
    assert answer.status == 200 and answer.content_type == "application/xml"
    assert answer.body == recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    path = tmp_path / "answer.xml"
    path.write_bytes(answer.body)
    assert read_sdmx3(path)["value_usd"][0] == 2019551635133.0
    assert fetch.get(server.url("/dot"), **FAST).body == recorded_body(LEGACY, "CompactData/DOT/")


def test_429_is_retried_after_what_retry_after_asks(server):
    server.script("/d", [Reply(429, b"Too Many Requests", {"Retry-After": "1"}), Reply(200, b"<data/>", XML)])
    start = time.monotonic()
    assert fetch.get(server.url("/d"), **FAST).body == b"<data/>"
    assert time.monotonic() - start >= 1.0 and len(server.requests("/d")) == 2


def test_a_retry_after_longer_than_max_wait_fails_at_once(server):
    server.script("/d", [Reply(429, b"Too Many Requests", {"Retry-After": "3600"}), Reply(200, b"<data/>", XML)])
    with pytest.raises(fetch.RateLimited, match="asks to wait 3600 s"):
        fetch.get(server.url("/d"), max_wait=60, **FAST)
    assert len(server.requests("/d")) == 1


def test_429_without_end_is_rate_limited_after_the_retries(server):
    server.script("/d", [Reply(429, b"Too Many Requests")])
    with pytest.raises(fetch.RateLimited, match="HTTP 429"):
        fetch.get(server.url("/d"), **FAST)
    assert len(server.requests("/d")) == 3


def test_5xx_is_retried_then_a_server_error(server):
    server.script("/once", [Reply(503, b"upstream connect error"), Reply(502), Reply(200, b"<data/>", XML)])
    assert fetch.get(server.url("/once"), **FAST).body == b"<data/>"
    server.script("/always", [Reply(500, b"Internal Server Error")])
    with pytest.raises(fetch.ServerError, match=r"HTTP 500\) 3 times: 'Internal Server Error'"):
        fetch.get(server.url("/always"), **FAST)
    assert len(server.requests("/once")) == 3 and len(server.requests("/always")) == 3


def test_a_timeout_is_retried_then_reported(server):
    server.script("/slow", [Reply(200, b"<data/>", XML, delay=1.0)])
    with pytest.raises(fetch.FetchTimeout, match=r"no answer within 0.3 s, 2 tries"):
        fetch.get(server.url("/slow"), timeout=0.3, retries=1, backoff=0.01)
    assert len(server.requests("/slow")) == 2


def test_a_spent_quota_is_said_and_not_retried(server):
    # Comtrade+ (Azure API Management) when the daily call volume is used up
    quota = b'{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 07:12:45." }'
    server.script("/c", [Reply(403, quota, {"Content-Type": "application/json"})])
    with pytest.raises(fetch.QuotaExhausted, match="quota is spent.*replenished in 07:12:45"):
        fetch.get(server.url("/c"), **FAST)
    assert len(server.requests("/c")) == 1


def test_a_body_cut_short_is_fetched_again_and_never_returned_cut(server):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    server.script("/once", [Reply(200, body, XML, cut_at=500), Reply(200, body, XML)])
    assert fetch.get(server.url("/once"), **FAST).body == body
    server.script("/always", [Reply(200, body, XML, cut_at=500)])
    with pytest.raises(fetch.Truncated, match="cut short 3 times"):
        fetch.get(server.url("/always"), **FAST)
    server.script("/gz", [Reply(200, body, XML, gzip=True, cut_at=300)])
    with pytest.raises(fetch.Truncated):
        fetch.get(server.url("/gz"), **FAST)


def test_an_html_page_or_an_error_text_with_200_is_no_data(server):
    server.script(
        "/html", [Reply(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>", {"Content-Type": "text/html"})]
    )
    with pytest.raises(fetch.NotData, match="an HTML page instead of data"):
        fetch.get(server.url("/html"), **FAST)
    server.script("/text", [Reply(200, b"No results found.", {"Content-Type": "text/plain"})])

    def sdmx(answer: fetch.Answer) -> bytes:
        if not answer.body.startswith(b"<"):
            raise ValueError(f"not an SDMX message: {answer.body[:40]!r}")
        return answer.body

    with pytest.raises(fetch.NotData, match="not an SDMX message: b'No results found.'"):
        fetch.get(server.url("/text"), read=sdmx, **FAST)
    server.script("/xml", [Reply(200, b"<data/>", XML)])
    assert fetch.get(server.url("/xml"), read=sdmx, **FAST).data == b"<data/>"


def test_a_key_never_appears_in_a_message(server):
    server.script("/k", [Reply(401, b"Access denied due to invalid subscription key.")])
    with pytest.raises(fetch.ClientError) as err:
        fetch.get(
            server.url("/k"),
            params={"subscription-key": "S3CRET"},
            headers={"Ocp-Apim-Subscription-Key": "S3CRET"},
            **FAST,
        )
    assert "S3CRET" not in str(err.value) and "subscription-key=***" in str(err.value) and "HTTP 401" in str(err.value)
    assert "S3CRET" in server.requests("/k")[0]  # it was sent


def test_a_host_that_cannot_be_reached(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(fetch.ConnectionFailed, match="cannot reach the host"):
        fetch.get(f"http://127.0.0.1:{port}/d", **FAST)
