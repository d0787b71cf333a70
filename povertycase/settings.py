"""Settings for 精准扶贫 case management, read from environment variables (see .env.example).

With no variables set the app runs embedded: SQLite file, Celery tasks executed eagerly, DEBUG on.
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from povertycase.env import env_bool, env_database, env_decimal, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "simple_history",
    "axes",
    # The project's apps, bottom layer to top (README "Architecture"; import-linter holds the direction).
    "povertycase",
    "villages",
    "households",
    "assessments",
    "assistance",
    "procedures",
    "field",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records request.user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Login rate limiting (django-axes): last, so that it sees the authenticated user.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a username from one address after 5 failed logins for 15 minutes (admin, pages and API token).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_VERBOSE = False
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "povertycase.api.base.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON over DATA_UPLOAD_MAX_MEMORY_SIZE → 413, nested too deeply → 400 (not a RecursionError 500).
    "DEFAULT_PARSER_CLASSES": [
        "povertycase.api.errors.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "povertycase.api.base.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_THROTTLE_RATE", "10/min")},
}
# The most members one household may have (a larger list is refused by the household services).
HOUSEHOLD_MAX_MEMBERS = env_int("HOUSEHOLD_MAX_MEMBERS", 30)
SPECTACULAR_SETTINGS = {
    "TITLE": "精准扶贫建档立卡管理系统 API",
    "DESCRIPTION": "县扶贫办、乡镇、驻村工作队和帮扶责任人使用的接口。字段名与领域规范（DOMAIN.md）一致；"
    "所有数据按用户辖区过滤，辖区外的对象返回404。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name for a choice set used by several fields (primary_cause, other_causes, the filters).
    "ENUM_NAME_OVERRIDES": {
        "CauseEnum": "households.choices.Cause",
        # Names the schema had before the procedures' own "kind" and "action" fields joined it.
        "KindEnum": "assessments.models.LineKind",
        "ActionEnum": [("created", "新增"), ("changed", "修改"), ("deleted", "删除")],
        "ApplicationKindEnum": "procedures.choices.Kind",
        "ApplicationStateEnum": "procedures.choices.State",
        "ProcedureActionEnum": "procedures.choices.Action",
        "SignatoryEnum": "procedures.choices.Signatory",
        "StatusEnum": "households.choices.HouseholdStatus",
        "MeasureStatusEnum": "assistance.choices.MeasureStatus",
        "LoanStatusEnum": "assistance.choices.LoanStatus",
        "LoanEventKindEnum": "assistance.choices.LoanEventKind",
        "ImportStatusEnum": "households.models.ImportJob.Status",
    },
}

ROOT_URLCONF = "povertycase.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "povertycase.wsgi.application"

DATABASES = {"default": env_database("DATABASE_URL", str(BASE_DIR / "db.sqlite3"))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once (runserver + eager tasks).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Celery -------------------------------------------------------------------------------------
# No broker configured: tasks run eagerly in the calling process, so a newcomer needs only Python.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task not acknowledged within this time (its worker died) is handed to another worker. It must exceed the longest
# task: an import commit of 20,000 households takes about a minute, a recompute page a few seconds (README).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900)}
CELERY_BEAT_SCHEDULE = {
    "nightly-eligibility-recompute": {
        "task": "assessments.tasks.nightly_recompute",
        "schedule": crontab(hour=2, minute=0),
    },
    "daily-loan-warnings": {
        "task": "assistance.tasks.daily_loan_warnings",
        "schedule": crontab(hour=1, minute=0),
    },
    "daily-procedure-alerts": {
        "task": "procedures.tasks.daily_procedure_alerts",
        "schedule": crontab(hour=6, minute=30),  # after the nightly recompute, before office hours
    },
    "daily-verify-decisions": {
        "task": "procedures.tasks.daily_verify_decisions",
        "schedule": crontab(hour=3, minute=30),
    },
}

# --- Exit standards (DOMAIN.md §4, §6; configurable) -------------------------------------------------
# The year the nightly job assesses; empty = the latest year with a national poverty line.
ASSESSMENT_YEAR = env_int("ASSESSMENT_YEAR", 0) or None
VILLAGE_EXIT_MAX_INCIDENCE = env_decimal("VILLAGE_EXIT_MAX_INCIDENCE", "0.02")  # 3% in western provinces
VILLAGE_EXIT_MIN_COLLECTIVE_INCOME = env_decimal("VILLAGE_EXIT_MIN_COLLECTIVE_INCOME", None)
COUNTY_EXIT_MAX_INCIDENCE = env_decimal("COUNTY_EXIT_MAX_INCIDENCE", "0.02")
COUNTY_EXIT_MIN_VILLAGES_EXITED = env_decimal("COUNTY_EXIT_MIN_VILLAGES_EXITED", "0.90")
COUNTY_EXIT_MAX_ERROR_RATE_PERCENT = env_decimal("COUNTY_EXIT_MAX_ERROR_RATE_PERCENT", "2")
COUNTY_EXIT_MIN_RECOGNITION_PERCENT = env_decimal("COUNTY_EXIT_MIN_RECOGNITION_PERCENT", "90")

# --- Procedures (DOMAIN.md §5; configurable) ---------------------------------------------------------------
NOTICE_PERIOD_DAYS = env_int("NOTICE_PERIOD_DAYS", 7)
# An application waiting on one step longer than this is listed for its supervisors.
STALLED_STEP_DAYS = env_int("STALLED_STEP_DAYS", 15)

# --- Excel import of household files (issue 7) ------------------------------------------------------------
# Largest workbook accepted for import (bytes); a county's file of 20,000 households is about 10 MB.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
# Zip-bomb guard: the most a workbook may expand to when unpacked (bytes), and as a multiple of its packed size
# (real workbooks expand ~10 times; the ratio is checked only past 1 MB unpacked).
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)
IMPORT_MAX_EXPANSION_RATIO = env_int("IMPORT_MAX_EXPANSION_RATIO", 100)

# --- Assistance (DOMAIN.md §7; configurable) ---------------------------------------------------------------
VISIT_PHOTO_MAX_BYTES = env_int("VISIT_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
# Micro-loan maturity warning: green > 90 days to maturity, blue 31–90, yellow 8–30, red ≤ 7 or overdue.
LOAN_WARNING_BLUE_DAYS = env_int("LOAN_WARNING_BLUE_DAYS", 90)
LOAN_WARNING_YELLOW_DAYS = env_int("LOAN_WARNING_YELLOW_DAYS", 30)
LOAN_WARNING_RED_DAYS = env_int("LOAN_WARNING_RED_DAYS", 7)
LOAN_REWARD_HOUSEHOLD_PERCENT = env_decimal("LOAN_REWARD_HOUSEHOLD_PERCENT", "2")
LOAN_REWARD_ENTERPRISE_PERCENT = env_decimal("LOAN_REWARD_ENTERPRISE_PERCENT", "5")
# "九个一": an assigned household with no visit for this many days is a gap.
VISIT_GAP_DAYS = env_int("VISIT_GAP_DAYS", 90)

# --- Tests ---------------------------------------------------------------------------------------
# CI sets REQUIRE_SERVICES=1: tests that need PostgreSQL or Redis then fail instead of skipping.
REQUIRE_SERVICES = env_bool("REQUIRE_SERVICES", False)

# --- Security (production: DEBUG off) ------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
