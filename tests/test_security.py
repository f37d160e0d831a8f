"""Access control, rate limiting, the JSON access log and stored-XSS defences of ``council-qa serve``.

Most tests run against one real server started with every protection turned on
(tokens, a trusted proxy with a user header, a rate limit, question logging);
requests "from the proxy" really come from another loopback address
(127.0.0.2), so the address check is the one production makes. Unauthenticated
requests use their own loopback source addresses, so that the per-address rate
limit of one test never answers another test's request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.auth import (
    AuthConfig,
    auth_config,
    exposure_warning,
    parse_networks,
    parse_tokens,
    safe_next,
)
from assistant.config import Settings
from assistant.logs import parse_flag
from assistant.ratelimit import Buckets, parse_rate
from tests.serverutil import (
    HOSTILE_DOC,
    HOSTILE_QUESTION,
    KUMLA_DOC,
    MAIN_ENV,
    PROJECT_ROOT,
    SERVER_ENV,
    HostPage,
    ServerFarm,
    ServerProcess,
    ask_in_chat,
    framed_env,
    free_port,
    record_metric,
)

pytest_plugins = ["tests.serverutil"]

ALICE = "alice-" + "a1" * 12
BARE = "bare-" + "b2" * 12
LIMITED = "limited-" + "c3" * 12
PROXY = "127.0.0.2"
RATE = 30
SECURE_ENV = {
    "COUNCIL_QA_API_TOKENS": f"alice:{ALICE}, {BARE}, limited:{LIMITED}",
    "COUNCIL_QA_TRUSTED_PROXIES": PROXY,
    "COUNCIL_QA_USER_HEADER": "X-Remote-User",
    "COUNCIL_QA_RATE_LIMIT": f"{RATE}/minute",
    "COUNCIL_QA_LOG_QUESTIONS": "on",
}
QUESTION = "Hur många socialsekreterare slutade 2024?"


@pytest.fixture(scope="module")
def secure(farm: ServerFarm, host_origin: HostPage) -> ServerProcess:
    farm.ensure("main", env=MAIN_ENV)  # loads its model meanwhile, for the log test
    return farm.ensure("secure", env={**SECURE_ENV, **framed_env(host_origin)}).wait_ready()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def client(address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z works on Linux loopback)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, timeout=60, follow_redirects=False, **kwargs)


def anonymous(test_number: int) -> httpx.Client:
    return client(f"127.0.1.{test_number}")


def session_cookie(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    assert header.startswith("council_qa_session="), header
    return header.split(";", 1)[0].split("=", 1)[1]


def log_lines(server: ServerProcess, wanted: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The server's JSON access-log lines for which ``wanted(line)`` holds (waiting for them briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        for raw in server.log_path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if line.get("event") == "request" and wanted(line):
                    lines.append(line)
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def question_lines(server: ServerProcess, question: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The server's ``"event": "question"`` lines (the chat's, with logging on) for ``question``."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        for raw in server.log_path.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw) if raw.startswith("{") else None
            except json.JSONDecodeError:
                continue
            if line and line.get("event") == "question" and line.get("question") == question:
                lines.append(line)
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


# -- settings and building blocks ---------------------------------------------------------------


def test_token_settings_are_checked_without_echoing_secrets() -> None:
    tokens = parse_tokens(f"alice:{ALICE}, {BARE}")
    assert tokens[0].name == "alice" and tokens[1].name.startswith("token-")
    for raw, fragment in [
        ("short-secret", "entry 1: a token must be at least 16"),
        (f"{ALICE},x:tiny", "entry 2"),
        (f"a:{ALICE},b:{ALICE}", "repeats"),
        (f"bad name:{ALICE}", "name"),
        (f"alice:{ALICE} with space", "without spaces"),
    ]:
        with pytest.raises(ValueError, match="COUNCIL_QA_API_TOKENS") as error:
            parse_tokens(raw)
        assert fragment in str(error.value)
        assert "short-secret" not in str(error.value) and ALICE not in str(error.value)
    with pytest.raises(ValueError, match=r"COUNCIL_QA_TRUSTED_PROXIES: 'proxy\.example'"):
        parse_networks("10.0.0.1, proxy.example", "COUNCIL_QA_TRUSTED_PROXIES")
    with pytest.raises(ValueError, match="COUNCIL_QA_TRUSTED_PROXIES is empty"):
        auth_config(Settings.from_env({"COUNCIL_QA_USER_HEADER": "X-Remote-User"}))
    with pytest.raises(ValueError, match="COUNCIL_QA_USER_HEADER"):
        auth_config(
            Settings.from_env({"COUNCIL_QA_USER_HEADER": "X Remote", "COUNCIL_QA_TRUSTED_PROXIES": "::1"})
        )
    with pytest.raises(ValueError, match="COUNCIL_QA_SESSION_SECRET"):
        auth_config(Settings.from_env({"COUNCIL_QA_SESSION_SECRET": "too-short"}))
    assert not auth_config(Settings.from_env({})).enabled  # off by default


def test_sessions_are_signed_expire_and_end_with_their_token() -> None:
    config = AuthConfig(tokens=parse_tokens(f"alice:{ALICE}"), secret=b"k" * 32)
    value = config.session_value(config.tokens[0], now=1000.0)
    assert config.session_user(value, now=1001.0) == "alice"
    assert config.session_user(value, now=1000.0 + 13 * 3600) is None  # expired
    body, signature = value.split(".")
    forged = body.replace(body[5], "A" if body[5] != "A" else "B") + "." + signature
    assert config.session_user(forged, now=1001.0) is None
    assert config.session_user(value + "x", now=1001.0) is None
    other_key = AuthConfig(tokens=config.tokens, secret=b"j" * 32)
    assert other_key.session_user(value, now=1001.0) is None
    revoked = AuthConfig(tokens=parse_tokens(f"alice:{BARE}"), secret=b"k" * 32)
    assert revoked.session_user(value, now=1001.0) is None  # alice's token was replaced
    for junk in ("", ".", "a.b", "é.ü", "x" * 5000):
        assert config.session_user(junk) is None


def test_rate_settings_and_buckets() -> None:
    assert parse_rate("") is None and parse_rate("off") is None
    assert parse_rate("30/minute").per_second == 0.5  # type: ignore[union-attr]
    assert parse_rate("5 per second").count == 5  # type: ignore[union-attr]
    assert parse_rate("1000/hours").seconds == 3600  # type: ignore[union-attr]
    for bad in ("30", "30/fortnight", "-1/minute", "0/minute", "lots"):
        with pytest.raises(ValueError, match="COUNCIL_QA_RATE_LIMIT"):
            parse_rate(bad)
    now = [0.0]
    buckets = Buckets(parse_rate("3/minute"), max_keys=2, clock=lambda: now[0])  # type: ignore[arg-type]
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(20.0)  # one request back every 20 s
    assert buckets.take("b") == 0  # per client
    now[0] = 20.0
    assert buckets.take("a") == 0
    buckets.take("c")
    assert len(buckets._state) == 2  # bounded memory: the oldest client is forgotten


def test_flags_next_paths_and_exposure_warning() -> None:
    assert parse_flag("on", "X") and parse_flag("1", "X") and not parse_flag("off", "X")
    with pytest.raises(ValueError, match="COUNCIL_QA_LOG_QUESTIONS='maybe'"):
        parse_flag("maybe", "COUNCIL_QA_LOG_QUESTIONS")
    for target in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "/x\r\nSet-Cookie: a=b",
    ):
        assert safe_next(target) == "/"
    assert safe_next("/embed/?lang=en") == "/embed/?lang=en"
    off = AuthConfig()
    assert exposure_warning("127.0.0.1", off) is None and exposure_warning("::1", off) is None
    assert exposure_warning("localhost", off) is None
    loud = exposure_warning("0.0.0.0", off)
    assert loud is not None and "WITHOUT AUTHENTICATION" in loud and "COUNCIL_QA_API_TOKENS" in loud
    assert exposure_warning("0.0.0.0", AuthConfig(tokens=parse_tokens(ALICE))) is None


def test_serve_on_all_interfaces_without_authentication_warns_loudly(tmp_path: Path) -> None:
    """The warning comes before anything slow; a garbage index then stops the server before it binds,
    so this test never opens a port beyond loopback."""
    chroma = tmp_path / "index" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"garbage" * 1000)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--index",
            str(tmp_path / "index"),
        ],
        cwd=PROJECT_ROOT,
        env={**_environ(), **SERVER_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "WARNING: council-qa listens on 0.0.0.0 WITHOUT AUTHENTICATION" in result.stderr
    assert "cannot be opened" in result.stderr and "Traceback" not in result.stderr


def test_bad_authentication_settings_stop_serve_naming_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--port",
            str(free_port()),
            "--index",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        env={**_environ(), **SERVER_ENV, "COUNCIL_QA_API_TOKENS": "alice:hunter2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "COUNCIL_QA_API_TOKENS entry 1" in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_QA_")}


# -- access control on the real server ----------------------------------------------------------------

PROTECTED = [
    ("POST", "/api/ask"),
    ("GET", "/api/documents"),
    ("GET", f"/api/documents/{KUMLA_DOC}"),
    ("GET", "/api/facets"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/"),
    ("GET", "/embed/"),
    ("GET", "/config"),
    ("GET", "/embed/config"),
    ("GET", "/gradio_api/info"),
    ("POST", "/gradio_api/queue/join"),
    ("POST", "/embed/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data?session_hash=x"),
]


def test_health_is_open_and_everything_else_needs_authentication(secure: ServerProcess) -> None:
    with anonymous(1) as http:
        health = http.get(secure.url + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        for method, path in PROTECTED:
            r = http.request(
                method, secure.url + path, json={"question": QUESTION} if method == "POST" else None
            )
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"].startswith("authorization:"), path
            assert b"<" not in r.content  # "Bearer <token>" too is sent escaped
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert "Kumla" not in r.text and "socialsekreterare" not in r.text
        # A person's browser asking for a page is sent to the sign-in form instead.
        for path in ("/", "/embed/?lang=en"):
            r = http.get(secure.url + path, headers={"accept": "text/html"})
            assert r.status_code == 303
            assert r.headers["location"].startswith("/login?next=")


def test_bearer_tokens(secure: ServerProcess) -> None:
    with anonymous(2) as http:
        for headers in (
            bearer("wrong-token-0123456789"),
            bearer(ALICE + "x"),
            bearer(ALICE[:-1]),
            {"authorization": f"Basic {ALICE}"},
            {"authorization": "Bearer"},
            {"authorization": "Bearer " + "x" * 10_000},
            {"authorization": ALICE},
        ):
            r = http.post(secure.url + "/api/ask", json={"question": QUESTION}, headers=headers)
            assert r.status_code == 401, headers["authorization"][:30]
    r = httpx.post(secure.url + "/api/ask", json={"question": QUESTION}, headers=bearer(ALICE), timeout=60)
    assert r.status_code == 200 and r.json()["citations"]
    r = httpx.get(secure.url + "/api/facets", headers=bearer(BARE))
    assert r.status_code == 200
    # A wrong token is refused even when a valid session cookie comes along.
    login = httpx.post(secure.url + "/login", data={"token": ALICE, "next": "/"})
    r = httpx.get(
        secure.url + "/api/facets",
        headers={**bearer("wrong-token-0123456789"), "cookie": f"council_qa_session={session_cookie(login)}"},
    )
    assert r.status_code == 401


def test_login_form_gives_the_chat_a_session_cookie(secure: ServerProcess) -> None:
    with anonymous(3) as http:
        form = http.get(secure.url + "/login?next=/embed/")
        assert form.status_code == 200 and 'name="token"' in form.text and 'type="password"' in form.text
        wrong = http.post(
            secure.url + "/login", data={"token": "not-the-token-0123456789", "next": "/embed/"}
        )
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert "not valid" in wrong.text
    r = httpx.post(secure.url + "/login", data={"token": ALICE, "next": "/embed/?lang=en"})
    assert r.status_code == 303 and r.headers["location"] == "/embed/?lang=en"
    attributes = [a.strip() for a in r.headers["set-cookie"].split(";")]
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Path=/" in attributes
    assert "Secure" not in attributes  # plain http: a Secure cookie would never come back
    cookie = {"cookie": f"council_qa_session={session_cookie(r)}"}
    page = httpx.get(secure.url + "/embed/", headers={**cookie, "accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert httpx.get(secure.url + "/embed/config", headers=cookie).status_code == 200
    assert httpx.get(secure.url + "/api/facets", headers=cookie).status_code == 200
    others = {
        "cookie": f'theme="dark\\x"; a b=c; council_qa_session={session_cookie(r)}; x'
    }  # other apps' cookies
    assert httpx.get(secure.url + "/api/facets", headers=others).status_code == 200
    tampered = {"cookie": f"council_qa_session={session_cookie(r)[:-2]}AA"}
    assert httpx.get(secure.url + "/api/facets", headers=tampered).status_code == 401
    out = httpx.post(secure.url + "/logout", headers=cookie)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_login_never_redirects_to_another_site(secure: ServerProcess) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = httpx.post(secure.url + "/login", data={"token": ALICE, "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/", target
        page = httpx.get(secure.url + "/login", params={"next": target + '"><script>x</script>'})
        assert "<script>x" not in page.text and "evil.example" not in page.text


def test_token_in_the_url_becomes_a_cookie_for_an_iframe(secure: ServerProcess) -> None:
    r = httpx.get(secure.url + "/embed/", params={"token": ALICE, "lang": "en"})
    assert r.status_code == 303
    assert r.headers["location"] == "/embed/?lang=en"  # the token leaves the address bar and history
    assert ALICE not in r.headers["location"]
    assert httpx.get(secure.url + "/embed/", params={"token": "wrong-token-0123456789"}).status_code == 401
    assert (
        httpx.get(secure.url + "/api/facets", params={"token": ALICE}).status_code == 401
    )  # API: the header
    # Behind a TLS-terminating proxy the cookie must work inside another site's iframe.
    with client(PROXY) as via_proxy:
        r = via_proxy.get(
            secure.url + "/embed/", params={"token": ALICE}, headers={"x-forwarded-proto": "https"}
        )
    attributes = [a.strip() for a in r.headers["set-cookie"].split(";")]
    assert {"Secure", "SameSite=None", "Partitioned", "HttpOnly"} <= set(attributes), attributes
    # The same header from anyone else is not believed.
    r = httpx.get(secure.url + "/embed/", params={"token": ALICE}, headers={"x-forwarded-proto": "https"})
    assert "Secure" not in r.headers["set-cookie"]


def test_cross_site_posts_with_the_cookie_are_refused(secure: ServerProcess) -> None:
    login = httpx.post(secure.url + "/login", data={"token": ALICE, "next": "/"})
    cookie = f"council_qa_session={session_cookie(login)}"
    body = {"question": QUESTION}
    foreign = httpx.post(
        secure.url + "/api/ask", json=body, headers={"cookie": cookie, "origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.json()["error"].startswith("origin:")
    own = httpx.post(
        secure.url + "/api/ask", json=body, headers={"cookie": cookie, "origin": secure.origin}, timeout=60
    )
    assert own.status_code == 200
    # A bearer token is not ambient (a browser never adds it by itself), so any origin may use it.
    api = httpx.post(
        secure.url + "/api/ask",
        json=body,
        headers={**bearer(ALICE), "origin": "https://x.example"},
        timeout=60,
    )
    assert api.status_code == 200


def test_proxy_user_header_is_believed_from_the_trusted_proxy_only(secure: ServerProcess) -> None:
    with client(PROXY) as via_proxy:
        r = via_proxy.post(
            secure.url + "/api/ask", json={"question": QUESTION}, headers={"x-remote-user": "bob"}
        )
        assert r.status_code == 200
        assert via_proxy.get(secure.url + "/api/facets").status_code == 401  # the proxy named nobody
        page = via_proxy.get(secure.url + "/embed/", headers={"x-remote-user": "bob", "accept": "text/html"})
        assert page.status_code == 200
    with anonymous(4) as http:
        for headers in (
            {"x-remote-user": "mallory"},
            {"x-remote-user": "mallory", "x-forwarded-for": PROXY},  # claiming to be the proxy
            {"X-Remote-User": "mallory", "forwarded": f"for={PROXY}"},
        ):
            assert http.get(secure.url + "/api/facets", headers=headers).status_code == 401, headers
    lines = log_lines(secure, lambda line: line.get("user") == "bob")
    assert lines and all(line["client"] == PROXY for line in lines)
    assert not log_lines(secure, lambda line: line.get("user") == "mallory", timeout=0.5)


def test_rate_limit_answers_429_with_retry_after(secure: ServerProcess) -> None:
    headers = bearer(LIMITED)
    with client() as http:
        statuses = [
            http.get(secure.url + "/api/facets", headers=headers).status_code for _ in range(RATE + 5)
        ]
        assert statuses.count(200) >= RATE - 1 and statuses[-1] == 429, statuses  # -1: a token may refill
        r = http.post(secure.url + "/api/ask", json={"question": QUESTION}, headers=headers)
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/json")
        retry = int(r.headers["retry-after"])
        assert 1 <= retry <= 60 // RATE + 1
        assert r.json()["error"].startswith("rate limit:") and r.json()["detail"][0]["retry_after"] == retry
        assert http.get(secure.url + "/healthz", headers=headers).status_code == 200  # never limited
        assert http.get(secure.url + "/api/facets", headers=bearer(BARE)).status_code == 200  # per client
        time.sleep(retry + 0.2)
        assert http.get(secure.url + "/api/facets", headers=headers).status_code == 200
    # Guessing tokens counts against the guesser's address.
    with anonymous(5) as http:
        guesses = [
            http.get(secure.url + "/api/facets", headers=bearer(f"guess-{i:020d}")).status_code
            for i in range(RATE + 3)
        ]
    assert guesses[0] == 401 and guesses[-1] == 429
    record_metric(
        "rate_limit", {"limit": f"{RATE}/minute", "statuses": {s: statuses.count(s) for s in set(statuses)}}
    )


# -- in a real browser: the token from a host page inside its iframe, and the sign-in form ---------------

CHROMIUM = Path("/usr/bin/chromium")


def test_chat_signs_in_inside_an_iframe_and_through_the_form(
    secure: ServerProcess, host_origin: HostPage
) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` (Debian's package)")
    answers = "#cqa-chat .cqa-a[data-status=done]"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(locale="sv-SE")
            page = context.new_page()
            # The intranet page passes the token once; the chat then runs on its session cookie.
            page.goto(host_origin.url(f"{secure.url}/embed/?token={ALICE}"))
            frame = page.frame_locator("#qa")
            frame.locator("#cqa-question textarea").fill(QUESTION)
            frame.locator("#cqa-question textarea").press("Enter")
            expect(frame.locator(answers)).to_have_count(1, timeout=90_000)
            expect(frame.locator(answers).first).to_contain_text("Enligt handlingarna")
            inner = next(f for f in page.frames if f.url.startswith(secure.url))
            assert "token=" not in inner.url  # the token left the frame's address
            context.close()

            context = browser.new_context(locale="sv-SE")
            page = context.new_page()
            page.goto(secure.url + "/")
            expect(page.locator("input[name=token]")).to_be_visible()
            page.locator("input[name=token]").fill("wrong-token-0123456789")
            page.locator("button[type=submit]").click()
            expect(page.locator(".error")).to_be_visible()
            page.locator("input[name=token]").fill(ALICE)
            page.locator("button[type=submit]").click()
            page.locator("#cqa-question textarea").fill(QUESTION)
            page.locator("#cqa-question textarea").press("Enter")
            expect(page.locator(answers)).to_have_count(1, timeout=90_000)
            context.close()
        finally:
            browser.close()


# -- the access log -------------------------------------------------------------------------------------


def test_one_json_line_per_request_with_user_and_question_when_enabled(
    secure: ServerProcess, farm: ServerFarm
) -> None:
    marker = f"Hur många socialsekreterare slutade i Kumla {uuid.uuid4().hex[:8]}?"
    assert (
        httpx.post(
            secure.url + "/api/ask", json={"question": marker}, headers=bearer(ALICE), timeout=60
        ).status_code
        == 200
    )
    httpx.get(secure.url + "/embed/", params={"token": ALICE})
    assert httpx.post(secure.url + "/api/ask", json={"question": "?"}, timeout=60).status_code == 401
    [line] = log_lines(secure, lambda line: line.get("question") == marker)
    assert set(line) == {
        "time",
        "event",
        "method",
        "path",
        "status",
        "latency_ms",
        "client",
        "user",
        "question",
    }
    assert line["method"] == "POST" and line["path"] == "/api/ask" and line["status"] == 200
    assert line["user"] == "alice" and line["client"] == "127.0.0.1" and line["latency_ms"] > 0
    anonymous_lines = log_lines(secure, lambda line: line["status"] == 401)
    assert anonymous_lines and all("user" not in line for line in anonymous_lines)
    text = secure.log_path.read_text(errors="replace")
    for secret in (ALICE, BARE, LIMITED):
        assert secret not in text, "a token reached the log"
    assert "token=" not in text  # query strings are never logged

    main = farm.ensure("main", env=MAIN_ENV).wait_ready()
    private = f"Min sons placering på HVB-hem {uuid.uuid4().hex[:8]}?"
    assert httpx.post(main.url + "/api/ask", json={"question": private}, timeout=60).status_code == 200
    lines = log_lines(main, lambda line: line["path"] == "/api/ask" and line["method"] == "POST")
    assert lines and all("question" not in line and "user" not in line for line in lines)
    assert private not in main.log_path.read_text(errors="replace")


def test_chat_questions_are_logged_only_when_enabled(secure: ServerProcess, farm: ServerFarm) -> None:
    """The chat's own path (Gradio's queue over HTTP): a question line when on, not a trace when off."""
    marker = f"Hur många socialsekreterare slutade i Kumla {uuid.uuid4().hex[:8]}?"
    assert "cqa-cite" in ask_in_chat(secure.url, marker, headers=bearer(ALICE))
    [line] = question_lines(secure, marker)
    assert line["source"] == "chat" and line["client"] == "127.0.0.1"
    assert line.get("user") == "alice", line

    main = farm.ensure("main", env=MAIN_ENV).wait_ready()
    private = f"Min sons placering på HVB-hem {uuid.uuid4().hex[:8]}?"
    assert "cqa-a" in ask_in_chat(main.url, private)
    time.sleep(0.5)
    text = main.log_path.read_text(errors="replace")
    assert private not in text and private.split()[-1] not in text
    assert '"event": "question"' not in text


# -- stored XSS: records with markup come back as data -------------------------------------------------


def test_api_json_carries_hostile_records_as_escaped_data(secure: ServerProcess) -> None:
    r = httpx.get(secure.url + f"/api/documents/{HOSTILE_DOC}", headers=bearer(ALICE))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert b"<" not in r.content and b">" not in r.content  # markup never appears as markup
    doc = json.loads(r.content)  # still valid JSON with the exact text
    assert "<script>window.__xss=1</script>" in doc["text"]
    assert '<img src=x onerror="window.__xss=3">' in doc["metadata"]["title"]
    assert doc["metadata"]["authors"] == ["<i>Eve</i> Angripare"]
    answer = httpx.post(
        secure.url + "/api/ask", json={"question": HOSTILE_QUESTION}, headers=bearer(ALICE), timeout=60
    )
    assert b"<" not in answer.content
    cited = [c for c in answer.json()["citations"] if c["doc_id"] == HOSTILE_DOC]
    assert cited and cited[0]["title"] == doc["metadata"]["title"]
    assert cited[0]["quote"] == doc["text"][cited[0]["start"] : cited[0]["end"]]
    listed = httpx.get(secure.url + "/api/documents", headers=bearer(ALICE))
    assert b"<" not in listed.content
    hostile = next(d for d in listed.json() if d["doc_id"] == HOSTILE_DOC)
    assert hostile["metadata"]["authors"] == ["<i>Eve</i> Angripare"]


# -- paths: documents, Gradio's files and uploads --------------------------------------------------------

TRAVERSALS = [
    "/api/documents/%252e%252e%252fpyproject.toml",  # double encoding
    "/api/documents/%c0%ae%c0%ae/pyproject.toml",  # overlong UTF-8
    "/api/documents/%ef%bc%8e%ef%bc%8e/pyproject.toml",  # fullwidth dots
    "/api/documents/..;/pyproject.toml",
    "/api/documents/.%2e/.%2e/pyproject.toml",
    "/api/documents/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/api/documents/%2e%2e%5c%2e%2e%5cpyproject.toml",
    "/api/documents/....//....//pyproject.toml",
    "/api/documents/documents%2f..%2f..%2fpyproject.toml",
    f"/api/documents/{PROJECT_ROOT}/documents/{KUMLA_DOC}",  # absolute path of a real record
    "/api/documents/file:%2f%2f%2fetc%2fpasswd",
    "/gradio_api/file=/etc/passwd",
    f"/gradio_api/file={PROJECT_ROOT}/pyproject.toml",
    "/gradio_api/file=../../../../etc/passwd",
    "/embed/gradio_api/file=%2fetc%2fpasswd",
    f"/gradio_api/file={PROJECT_ROOT}/documents/{KUMLA_DOC}",
    "/static/../../pyproject.toml",
    "/assets/..%2f..%2f..%2fpyproject.toml",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_reads_files_outside_the_index(secure: ServerProcess, path: str) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", secure.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("authorization", f"Bearer {ALICE}")
        conn.endheaders()
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert status in (400, 403, 404), (path, status, body[:200])
    assert b"[build-system]" not in body and b"root:" not in body and b"Interpellation" not in body


@pytest.fixture
def gradio_temp() -> Iterator[Path]:
    yield Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def test_uploads_and_oversized_chat_requests_are_refused(secure: ServerProcess, gradio_temp: Path) -> None:
    name = f"upload-{uuid.uuid4().hex}.html"
    for path in ("/gradio_api/upload", "/embed/gradio_api/upload"):
        r = httpx.post(
            secure.url + path,
            files={"files": (name, b"<script>alert(1)</script>", "text/html")},
            headers=bearer(ALICE),
        )
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert not list(gradio_temp.glob(f"*/{name}")), "the upload reached the disk"
    big = json.dumps({"data": ["x" * 300_000], "fn_index": 0, "session_hash": "s"}).encode()
    r = httpx.post(
        secure.url + "/gradio_api/queue/join",
        content=big,
        headers={**bearer(ALICE), "content-type": "application/json"},
    )
    assert r.status_code == 413


# -- last: the index breaks under the running server (this module owns the server) --------------------


def test_healthz_reports_a_damaged_index_and_how_to_repair_it(
    secure: ServerProcess, farm: ServerFarm
) -> None:
    sqlite = farm.index_of("secure") / "chroma" / "chroma.sqlite3"
    with open(sqlite, "r+b") as handle:  # in place: the server's open file sees the damage
        handle.write(os.urandom(sqlite.stat().st_size))
    health = httpx.get(secure.url + "/healthz", timeout=30)  # still open without a token
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "error" and "index unavailable" in body["error"]
    assert "council-qa ingest" in body["action"] and str(farm.index_of("secure")) in body["action"]
    r = httpx.post(secure.url + "/api/ask", json={"question": QUESTION}, headers=bearer(ALICE), timeout=60)
    assert r.status_code == 500 and "Traceback" not in r.text and len(r.json()["error"]) < 200
    # The chat says so too; with COUNCIL_QA_LOG_QUESTIONS=on its failure names the question in the log.
    marker = f"Vad hände i Kumla {uuid.uuid4().hex[:8]}?"
    assert "cqa-error" in ask_in_chat(secure.url, marker, headers=bearer(ALICE))
    failed = f"answering the chat question {marker!r} failed"
    deadline = time.monotonic() + 10
    while failed not in secure.log_path.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert failed in secure.log_path.read_text(errors="replace")
    assert secure.alive()
