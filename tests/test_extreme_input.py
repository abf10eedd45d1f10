"""Every route and every form with extreme values (ids past any integer column, long digit
strings, far dates, exponents, NUL bytes, very long text): an answer below 500, every time.

In TESTING mode Flask re-raises a view's exception, so a failure here shows its traceback."""

import re
from datetime import date
from urllib.parse import parse_qsl, urlsplit

from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.extensions import db

from .test_security_hostile import _admin_client, discover_forms
from .test_security_matrix import app_routes, make_world, url_arguments

HUGE_IDS = [str(2**31), str(2**31 - 1), str(2**63), str(2**64), "9" * 30, "9" * 4301]
EXTREMES = [
    *HUGE_IDS,
    "0",
    "-1",
    "-" + "9" * 30,
    "00000000000000000000001",
    "1e-22",
    "1e-999999",
    "1e999999",
    "1E+308",
    "-0.0",
    "0.0000000000000000000000000001",
    "NaN",
    "-Infinity",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "1899-12-31",
    "2201-01-01",
    "-2026-01-01",
    "9999-12-31T23:59",
    "2026-03-08T02:30",
    "24:00",
    "23:60",
    "99:99",
    "\x00",
    "a\x00b",
    "a\r\nb",
    "\u200b",
    "x" * 20_000,
    "٣",
    "１２３",
    "' OR 1=1 --",
    "%",
]
extreme = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,7})?", fullmatch=True),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
)
# The query-string names the pages read (filters, pickers, pagination).
QUERY_NAMES = (
    "page",
    "q",
    "date",
    "from_day",
    "day",
    "chair",
    "start",
    "patient_id",
    "appointment_id",
    "appointment_type",
    "clinician",
    "status",
    "kind",
    "statuses",
    "booked",
    "days",
    "user",
    "entity",
    "patient",
    "date_from",
    "date_to",
    "on",
    "format",
    "back",
    "per_page",
)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
FORM_SETTINGS = settings(SETTINGS, max_examples=5)


def _routes(app):
    return [
        (endpoint, method)
        for endpoint, method in app_routes(app)
        if endpoint not in ("static", "auth.logout") and method in ("GET", "POST")
    ]


def _integer_arguments(app, endpoint: str) -> list[str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return [name for name, converter in rule._converters.items() if converter.regex == r"\d+"]


def _url(app, endpoint: str, world: dict, replace: dict[str, str]) -> str:
    """The endpoint's URL for real rows, with some integer parts replaced by raw digit strings."""
    arguments = url_arguments(app, endpoint, world)
    marks = {name: 10**9 + index for index, name in enumerate(replace)}  # unique placeholders
    with app.test_request_context():
        url = url_for(endpoint, **{**arguments, **marks})
    for name, mark in marks.items():
        url = url.replace(str(mark), replace[name], 1)
    return url


def _send(client, method: str, url: str, values: dict):
    if method == "GET" and "?" in url:  # the page's own query arguments, then the extreme ones
        url, _, own = url.partition("?")
        values = {**dict(parse_qsl(own)), **values}
    response = (
        client.post(url, data=values) if method == "POST" else client.get(url, query_string=values)
    )
    assert response.status_code < 500, (method, url[:200], {k: v[:40] for k, v in values.items()})
    response.close()
    return response


def test_every_route_with_huge_ids_and_extreme_query_values(app):
    """Each route once with every integer in its URL past what the database holds (404 unless
    the route takes none), once with extreme query values; then random mixes of both."""
    client, _ = _admin_client(app)
    with app.app_context():
        world = make_world()
        db.session.commit()
    routes = _routes(app)
    assert len(routes) >= 40, routes
    for index, (endpoint, method) in enumerate(routes):
        ids = _integer_arguments(app, endpoint)
        if ids:
            huge = HUGE_IDS[index % len(HUGE_IDS)]
            response = _send(client, method, _url(app, endpoint, world, {n: huge for n in ids}), {})
            # 405: the path matches another rule of the same shape (a token there) for other methods
            # 401: the JSON API asks for its bearer token first (a session never authenticates it)
            # 400: 2**31 - 1 fits the database, and a patient link refuses its token before any row
            if endpoint.startswith("api."):
                allowed = (401, 404, 405)
            elif endpoint.startswith("patient_links."):
                allowed = (400, 404, 405)
            else:
                allowed = (404, 405)
            assert response.status_code in allowed, (endpoint, huge)
        values = {
            name: EXTREMES[(index + offset) % len(EXTREMES)]
            for offset, name in enumerate(QUERY_NAMES)
        }
        _send(client, method, _url(app, endpoint, world, {}), values)

    @SETTINGS
    @given(st.data())
    def mixed(data):
        endpoint, method = data.draw(st.sampled_from(routes))
        replace = {
            name: data.draw(st.sampled_from(HUGE_IDS + ["1"]))
            for name in _integer_arguments(app, endpoint)
            if data.draw(st.booleans())
        }
        names = data.draw(st.lists(st.sampled_from(QUERY_NAMES), max_size=5, unique=True))
        query = {name: data.draw(extreme) for name in names}
        _send(client, method, _url(app, endpoint, world, replace), query)

    mixed()


def test_every_form_with_extreme_values(app):
    """Every field of every form on every page gets extreme numbers, dates and text: never a 500."""
    client, _ = _admin_client(app)
    forms = discover_forms(app, client)
    paths = {re.sub(r"\d+", "N", urlsplit(f["action"]).path) for f in forms}
    assert {"/patients/N/infusions/new", "/schedule/closed-dates", "/patients/N/edit"} <= paths, (
        paths
    )
    failures = []
    for form in forms:
        try:
            _post_extremes(client, form)
        except Exception as error:  # noqa: BLE001  every form's failure, not only the first
            failures.append(
                f"{form['method']} {form['action']} (on {form['page']}): {type(error).__name__}: "
                f"{error}"[:1500]
            )
        if client.get("/admin/").status_code != 200:  # a refused save must not end the session
            client, _ = _admin_client(app)
    assert not failures, "\n\n".join(failures)


def _post_extremes(client, form: dict) -> None:
    """A few examples of extreme values in every field of one form."""

    @FORM_SETTINGS
    @given(st.data())
    def post(data):
        values = {}
        for name, field in form[
            "fields"
        ].items():  # a real choice here and there lets a save get further
            use_option = field["options"] and data.draw(st.booleans())
            values[name] = data.draw(st.sampled_from(field["options"]) if use_option else extreme)
        _send(client, form["method"], form["action"], values)

    post()
