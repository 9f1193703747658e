"""Configuration classes, chosen by the APP_CONFIG environment variable."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEFAULT_SECRET_KEY = "dev-secret-key-change-me"


def _database_url(default_file: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; we ship psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{INSTANCE_DIR / default_file}"


class Config:
    NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url("qiangji.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    TIMEZONE = "Asia/Shanghai"
    PASSWORD_HASH_METHOD = "scrypt"
    BOOTSTRAP_SERVE_LOCAL = True  # air-gapped court networks: never a CDN
    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still submits
    WTF_I18N_ENABLED = False  # let WTForms use its own zh translations (no Flask-Babel)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 5000
    # Login throttling per (account, address): after LOGIN_MAX_FAILURES failures the
    # pair waits 1, 2, 4 … minutes (at most LOGIN_LOCK_MAX_MINUTES) between tries; an
    # address past LOGIN_MAX_FAILURES_PER_IP is held back only for the accounts it tried.
    # The 安全管理员 may change these at /admin/security (stored over these defaults).
    LOGIN_MAX_FAILURES = 5
    LOGIN_MAX_FAILURES_PER_IP = 20
    LOGIN_LOCK_MAX_MINUTES = 60
    LOGIN_WINDOW_HOURS = 24  # failures older than this no longer count
    # 身份鉴别 (等保三级): password expiry (0 = off), idle and absolute session lifetimes.
    PASSWORD_EXPIRY_DAYS = int(os.environ.get("PASSWORD_EXPIRY_DAYS", "90"))
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))
    # Roles that must enrol a second factor (TOTP) before anything else.
    MFA_REQUIRED_ROLES: tuple[str, ...] = ()
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    # (Werkzeug's ProxyFix). 0 = the app faces clients directly.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    HSTS = False
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    TESTING = False
    # E-mail for reminders (no MAIL_SERVER: nothing is sent, deliveries wait).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_FROM = os.environ.get("MAIL_FROM", "qiangji@localhost")
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    SWEEP_TIME = os.environ.get("SWEEP_TIME", "08:30")  # Asia/Shanghai, HH:MM
    # Background jobs (run by the scheduler process): an import sheet longer than
    # IMPORT_INLINE_ROWS, a completion export of more than EXPORT_INLINE_ITEMS items and
    # every month-end circular go to a job with a progress page; results kept JOB_RESULT_DAYS.
    IMPORT_INLINE_ROWS = int(os.environ.get("IMPORT_INLINE_ROWS", "200"))
    EXPORT_INLINE_ITEMS = int(os.environ.get("EXPORT_INLINE_ITEMS", "5000"))
    JOB_RESULT_DAYS = int(os.environ.get("JOB_RESULT_DAYS", "7"))
    BACKGROUND_WORKERS = int(os.environ.get("BACKGROUND_WORKERS", "2"))
    # Backup (flask backup …; app/backup): the scheduler writes one archive a night to
    # BACKUP_DIR at BACKUP_TIME (Asia/Shanghai) and keeps the newest BACKUP_KEEP; an empty
    # BACKUP_DIR turns the nightly backup off. BACKUP_PG_DUMP: pg_dump's full path when it is
    # not on PATH (pg_restore is taken from the same directory).
    BACKUP_DIR = os.environ.get("BACKUP_DIR", "")
    BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "7"))
    BACKUP_TIME = os.environ.get("BACKUP_TIME", "01:30")
    BACKUP_PG_DUMP = os.environ.get("BACKUP_PG_DUMP", "")
    # X-SQL-Count / X-SQL-Time-Ms on every response, for `python -m bench run` only.
    SQL_PROFILE_HEADERS = os.environ.get("SQL_PROFILE_HEADERS") == "1"
    # Issue 13: one JSON line per request on stderr (on in production), gzip for text
    # answers, content-hashed static file names; /readyz wants a scheduler heartbeat
    # younger than READY_HEARTBEAT_SECONDS (0: two heartbeats, 40 s).
    REQUEST_LOG = os.environ.get("REQUEST_LOG") == "1"
    COMPRESS_RESPONSES = os.environ.get("COMPRESS_RESPONSES", "1") == "1"
    ASSET_HASHING = True
    READY_HEARTBEAT_SECONDS = int(os.environ.get("READY_HEARTBEAT_SECONDS", "0"))
    # Issue 15: directory login (LDAP) beside the local accounts; an empty LDAP_URL turns it
    # off. Checked at start-up and by `flask check` (app/auth/directory.py, README: 目录登录).
    LDAP_URL = os.environ.get("LDAP_URL", "")
    LDAP_STARTTLS = os.environ.get("LDAP_STARTTLS", "0")
    LDAP_CA_FILE = os.environ.get("LDAP_CA_FILE", "")
    LDAP_BIND_DN = os.environ.get("LDAP_BIND_DN", "")
    LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD", "")
    LDAP_USER_BASE = os.environ.get("LDAP_USER_BASE", "")
    LDAP_USER_FILTER = os.environ.get("LDAP_USER_FILTER", "(uid={username})")
    LDAP_UNIT_ATTRIBUTE = os.environ.get("LDAP_UNIT_ATTRIBUTE", "departmentNumber")
    LDAP_DISPLAY_NAME_ATTRIBUTE = os.environ.get("LDAP_DISPLAY_NAME_ATTRIBUTE", "cn")
    LDAP_GROUP_ROLES = os.environ.get("LDAP_GROUP_ROLES", "")
    LDAP_TIMEOUT = os.environ.get("LDAP_TIMEOUT", "3")


class DevelopmentConfig(Config):
    NAME = "development"
    DEBUG = False


class TestingConfig(Config):
    NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # tests only: production keeps scrypt
    SERVER_NAME = None
    STRICT_READS = True  # a write in a GET's read transaction fails the test (app/extensions.py)
    REQUEST_LOG = False  # quiet tests (tests/test_observability.py turns it on)


class ProductionConfig(Config):
    NAME = "production"
    HSTS = True
    MFA_REQUIRED_ROLES = tuple(
        r for r in os.environ.get("MFA_REQUIRED_ROLES", "admin,secadmin,auditor").split(",") if r
    )
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REQUEST_LOG = os.environ.get("REQUEST_LOG", "1") == "1"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("APP_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"未知的 APP_CONFIG={name!r}，可选：{', '.join(CONFIGS)}") from None
