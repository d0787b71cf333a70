"""The field pages in a real browser: Playwright for Python driving Debian's Chromium on a phone-sized screen.

A first secretary logs in through the login page, finds a household by searching, opens its card, logs a visit
and sees it there; an invalid visit shows its errors and saves nothing. Chromium is Debian's package
(``/usr/bin/chromium``, installed by ``.ci/run``); without it these tests skip locally and fail in CI
(``REQUIRE_SERVICES=1``).

The live server needs committed data, hence transactional tests. They restore the migrated data (poverty lines,
role groups) when they start (``serialized_rollback``) and, once the module is done, put it back for the tests that
run after them in the same process: a transactional test's flush would otherwise leave those tables empty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from assistance.choices import Role
from assistance.models import Cadre, Visit
from assistance.services import role_assign
from testing.factories import CountyFactory, HouseholdFactory, MemberFactory, TownshipFactory, VillageFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
PASSWORD = "yangshan-2015"
TIMEOUT_MS = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module", autouse=True)
def _module_state(migrated_data_restored):
    """Celery tasks run in-process for the whole module, including the serialized rollback's reloading of the
    migrated poverty lines (whose signals dispatch a recompute): nothing is published to a real broker, where it
    would outlive the test. Afterwards the migrated data is loaded back (``migrated_data_restored``)."""
    from povertycase.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@contextlib.contextmanager
def launched_chromium(require_services):
    """Debian's Chromium under Playwright, for one test. Playwright's sync API keeps an event loop running in this
    thread; the test's ORM calls stay synchronous (DJANGO_ALLOW_ASYNC_UNSAFE), and the connections Django handed
    out meanwhile are closed afterwards."""
    if not CHROMIUM.exists():
        require_services(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone(live_server, village_world, require_services):
    """A phone-sized page in Debian's Chromium.

    It depends on the database fixtures so that it is set up after them and torn down before them: while
    Playwright's event loop runs, Django hands this thread other connection objects (asgiref keeps them per
    context), and pytest-django's flush must run on the original one, which knows the serialized data."""
    with launched_chromium(require_services) as browser:
        context = browser.new_context(**PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
        context.close()


@pytest.fixture
def village_world(django_user_model):
    """杨山村 with two households, the next village with one, and 杨山村's first secretary."""
    admin = django_user_model.objects.create_superuser(username="city_admin", password=PASSWORD)
    township = TownshipFactory(county=CountyFactory(code="410324"), code="410324104", name="庙子镇")
    village = VillageFactory(township=township, code="410324104201", name="杨山村")
    other = VillageFactory(township=township, code="410324104202", name="蒿坪村")
    households = {}
    for number, head, place in (
        ("4103241042010001", "王建国", village),
        ("4103241042010002", "李秀英", village),
        ("4103241042020001", "孙海峰", other),
    ):
        households[head] = HouseholdFactory(village=place, household_number=number)
        MemberFactory(household=households[head], name=head)
    user = django_user_model.objects.create_user(username="yangshan", password=PASSWORD)
    cadre = Cadre.objects.create(user=user, name="杨山村第一书记")
    role_assign(actor=admin, cadre=cadre, role=Role.FIRST_SECRETARY, village=village)
    return households


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous: sent to the login page
    page.get_by_label("用户名").fill("yangshan")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("我的帮扶户")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_first_secretary_finds_a_household_logs_a_visit_and_sees_it_on_the_card(phone, live_server, village_world):
    page = phone
    log_in(page, live_server)
    rows = page.locator("li.household-row")
    assert rows.count() == 2  # 杨山村's households, not the next village's
    assert "4103241042020001" not in page.content()
    assert no_horizontal_scroll(page)

    page.get_by_placeholder("户主姓名、成员姓名或户编号").fill("李秀英")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url(lambda url: "q=" in url)
    assert rows.count() == 1
    assert rows.first.get_attribute("data-number") == "4103241042010002"

    rows.first.get_by_role("link", name="李秀英").click()
    household = village_world["李秀英"]
    page.wait_for_url(lambda url: url.endswith(f"/households/{household.pk}/"))
    assert page.locator("h1").inner_text().startswith("李秀英户")
    assert no_horizontal_scroll(page)

    page.get_by_role("link", name="记录走访").click()
    page.wait_for_url(lambda url: url.endswith(f"/households/{household.pk}/visits/new/"))
    assert page.get_by_label("走访日期").input_value() == timezone.localdate().isoformat()
    page.get_by_label("走访目的").fill("了解春耕生产")
    page.get_by_label("走访情况").fill("种植玉米三亩，长势良好。")
    page.get_by_label("存在问题").fill("缺少化肥")
    assert no_horizontal_scroll(page)
    page.get_by_role("button", name="保存走访记录").click()

    page.wait_for_url(lambda url: url.endswith(f"/households/{household.pk}/#visits"))
    assert "走访记录已保存" in page.locator(".messages").inner_text()
    visits = page.locator(".visit")
    assert visits.count() == 1
    assert "种植玉米三亩，长势良好。" in visits.first.inner_text()
    assert "杨山村第一书记" in visits.first.inner_text()

    visit = Visit.objects.get()
    assert visit.household_id == household.pk and visit.cadre.user.username == "yangshan"
    assert visit.visited_on == timezone.localdate() and visit.problems == "缺少化肥"


def test_invalid_visit_shows_the_errors_and_saves_nothing(phone, live_server, village_world):
    page = phone
    log_in(page, live_server)
    household = village_world["王建国"]
    page.goto(f"{live_server.url}/households/{household.pk}/visits/new/")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page.get_by_label("走访日期").fill(tomorrow.isoformat())
    page.get_by_label("走访目的").fill("回访")
    page.get_by_label("走访情况").fill("")
    page.get_by_role("button", name="保存走访记录").click()

    page.wait_for_load_state()
    assert page.url.endswith(f"/households/{household.pk}/visits/new/")  # still on the form
    assert "走访记录未保存" in page.get_by_role("alert").inner_text()
    assert "走访日期不能晚于今天。" in page.locator("#field-visited_on").inner_text()
    assert "请填写走访情况。" in page.locator("#field-findings").inner_text()
    assert page.get_by_label("走访目的").input_value() == "回访"  # what was typed is kept
    assert no_horizontal_scroll(page)
    assert not Visit.objects.exists()


# --- An exit from the phone to the county's approval in the admin (issue 11) ------------------------------------

DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}


@pytest.fixture
def exit_world(cast):
    """The shared cast's 庄子村 with a household whose current assessment passes the exit standard."""
    from assessments.selectors import current_assessment_year
    from assessments.services import household_assess
    from testing.factories import IncomeRecordFactory, id_number_for

    year = current_assessment_year()
    household = HouseholdFactory(village=cast.village, household_number=f"{cast.village.code}0501")
    MemberFactory(household=household, name="周玉梅", id_number=id_number_for(7001, area_code="410324"))
    IncomeRecordFactory(
        household=household, year=year, wage_income=Decimal("9500.00"), business_income=0, business_expenses=0
    )
    assert household_assess(household=household, year=year).eligible
    return cast, household


@pytest.fixture
def chromium(live_server, exit_world, require_services):
    """Debian's Chromium, for pages of several sizes (set up after the database fixtures, torn down before)."""
    with launched_chromium(require_services) as browser:
        yield browser


def signed_in(browser, live_server, user, *, size: dict, login_path: str, next_path: str):
    from testing.cast import PASSWORD as CAST_PASSWORD

    context = browser.new_context(**size)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}{login_path}?next={next_path}")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(CAST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}{next_path}")
    return page


def test_an_exit_proposed_on_the_phone_is_approved_by_a_supervisor_in_the_admin(chromium, live_server, exit_world):
    from procedures.models import Application, Decision
    from procedures.services import application_transition

    cast, household = exit_world
    card = f"/households/{household.pk}/"
    phone = signed_in(chromium, live_server, cast.secretary, size=PHONE, login_path="/accounts/login/", next_path=card)

    # The first secretary proposes the exit from the household's card.
    phone.get_by_role("link", name="提出退出申请").click()
    phone.wait_for_url(lambda url: url.endswith(f"{card}exit/new/"))
    assert no_horizontal_scroll(phone)
    phone.get_by_role("button", name="确认提出退出申请").click()
    phone.wait_for_url(lambda url: url.startswith(f"{live_server.url}{card}") and "exit/new" not in url)
    assert "已提出" in phone.locator(".messages").inner_text()
    application = Application.objects.get(household=household, kind="exit")

    # The village and township steps, each by another person (maker-checker).
    for action, user in (
        ("appraise", cast.work_team),
        ("verify", cast.work_team_2),
        ("acknowledge", cast.secretary),
        ("publish_notice", cast.secretary),
    ):
        application = application_transition(actor=user, application=application, action=action)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Application.objects.filter(pk=application.pk).update(
        notice_started_on=yesterday - dt.timedelta(days=6), notice_ends_on=yesterday
    )
    application = application_transition(actor=cast.township_clerk, application=application, action="township_review")

    # A supervisor approves it at county level in the back office.
    path = f"/admin/procedures/application/{application.pk}/change/"
    desk = signed_in(chromium, live_server, cast.supervisor, size=DESKTOP, login_path="/admin/login/", next_path=path)
    step = desk.locator("form.step-form[data-action='county_approve']")
    step.locator("textarea[name='comment']").fill("经复审，同意退出。")
    step.get_by_role("button", name="县级审批").click()
    desk.wait_for_load_state()
    assert "县级审批公告" in desk.locator("body").inner_text()

    household.refresh_from_db()
    assert (household.status, household.exit_year) == ("exited", application.year)
    decision = Decision.objects.get(application=application)
    assert decision.decided_by == cast.supervisor and decision.kind == "exited"

    # The card on the phone shows the decision.
    phone.goto(f"{live_server.url}{card}")
    assert "脱贫退出" in phone.locator("body").inner_text()
    assert "已脱贫" in phone.locator("h1, .status, body").first.inner_text()
