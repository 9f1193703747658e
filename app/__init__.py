"""强基通: the app factory. It wires things together and never touches the database."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, request, session, url_for
from flask_login import current_user

from config import DEFAULT_SECRET_KEY, get_config


def create_app(config_name: str | None = None, **overrides: Any) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(get_config(config_name))
    app.config.update(overrides)
    if app.config["NAME"] == "production" and app.config["SECRET_KEY"] in (
        None,
        "",
        DEFAULT_SECRET_KEY,
    ):
        raise RuntimeError("生产环境必须通过环境变量 SECRET_KEY 设置一个随机密钥，拒绝以默认密钥启动。")
    check_directory_settings(app)
    register_proxy(app)
    configure_postgresql(app)  # engine options: before the extensions create the engine
    configure_sqlprofile(app)
    register_extensions(app)
    register_sqlprofile(app)  # first registered: its after_request hook runs last
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_hooks(app)
    register_security(app)
    register_web_delivery(app)
    register_cli(app)
    return app


def check_directory_settings(app: Flask) -> None:
    """Issue 15: LDAP_* settings that cannot work stop the start, in Chinese (README: 目录登录)."""
    from app.auth.directory import DirectoryConfigError, load_settings

    try:
        load_settings(app.config)
    except DirectoryConfigError as exc:
        raise RuntimeError(str(exc)) from None


def register_proxy(app: Flask) -> None:
    """Behind the court's reverse proxy, the client address is the one the
    configured number of trusted proxies forwarded (README: 反向代理)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


# Startup options of the app's PostgreSQL connections (none is set when the URL already
# sets it). JIT: the policy's OR of EXISTS clauses gives search statements planner costs
# in the millions, above `jit_above_cost`, and PostgreSQL then compiled each one for 1.2 s
# to run it in 25–50 ms (a province's search took 2–3.6 s); JIT pays off for long analytic
# queries, which this app does not send. Parallel workers: a search page's statements
# (a few thousand index rows) were planned as Gather Merge over two workers, whose start
# costs more than they share: a province's search p50 57 → 44 ms, a kind's second page
# 81 → 55 ms (2 cores, in-process, PostgreSQL 15); the pages without parallel plans
# unchanged. random_page_cost: PostgreSQL's default (4) prices a page read out of order
# as from a spinning disk; a court server's database sits on SSD and mostly in memory, and
# 1.1 is the usual setting there. At 4 the planner read a kind's newest search matches
# by walking every document backwards (26,000 of them, 10 ms) rather than that kind's own
# (ix_search_documents_kind_id, 2.7 ms): a kind's second page p50 45–46 → 36–42 ms.
PG_STARTUP = {"jit": "off", "max_parallel_workers_per_gather": "0", "random_page_cost": "1.1"}


def configure_postgresql(app: Flask) -> None:
    """PG_STARTUP as startup options: no transaction can undo them."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not uri.startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # not the config class's dict
    connect_args = dict(options.get("connect_args") or {})
    startup = connect_args.get("options", "")
    for name, value in PG_STARTUP.items():
        if f"{name}=" not in startup:
            startup = f"{startup} -c {name}={value}".strip()
    connect_args["options"] = startup
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure_sqlprofile(app: Flask) -> None:
    from app.sqlprofile import configure

    configure(app)


def register_sqlprofile(app: Flask) -> None:
    from app.sqlprofile import register

    register(app)


def register_converters(app: Flask) -> None:
    """URL converters, before any route is added (ids that fit the database)."""
    from app.security.hardening import register_converters as register_bounded

    register_bounded(app)


def register_extensions(app: Flask) -> None:
    from app.auth.services import load_session_user
    from app.extensions import bootstrap, csrf, db, init_migrations, login_manager

    db.init_app(app)
    init_migrations(app, str(_migrations_dir()))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    _import_models()


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _import_models() -> None:
    """Every model module, so metadata (and migrations) see all tables."""
    import app.api.models  # noqa: F401
    import app.attachments  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.background.models  # noqa: F401
    import app.checklists.models  # noqa: F401
    import app.dashboard.models  # noqa: F401
    import app.discussion.models  # noqa: F401
    import app.importing  # noqa: F401
    import app.indicators.models  # noqa: F401
    import app.journal  # noqa: F401
    import app.notifications  # noqa: F401
    import app.org.models  # noqa: F401
    import app.reminders.models  # noqa: F401
    import app.savedviews.models  # noqa: F401
    import app.search.models  # noqa: F401
    import app.security.models  # noqa: F401
    import app.tasks.models  # noqa: F401
    import app.visits.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.api import init_app as init_api
    from app.audit import bp as audit_bp
    from app.auth import bp as auth_bp
    from app.background import bp as jobs_bp
    from app.checklists import bp as checklists_bp
    from app.dashboard import bp as dashboard_bp
    from app.extensions import csrf
    from app.indicators import bp as indicators_bp
    from app.main import bp as main_bp
    from app.org import bp as org_bp
    from app.reminders import bp as reminders_bp
    from app.savedviews import bp as savedviews_bp
    from app.schedule import bp as schedule_bp  # issue 15: calendar and Gantt
    from app.security.views import bp as security_bp
    from app.tasks import bp as tasks_bp
    from app.visits import bp as visits_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(visits_bp)
    app.register_blueprint(checklists_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(security_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(indicators_bp)
    app.register_blueprint(schedule_bp)  # issue 15: calendar and Gantt
    from app.indicators.policy import register as register_indicator_policy

    register_indicator_policy()
    # saved views (我的查询, issue 15): their routes and their rules in the policy
    from app.savedviews.policy import register as register_savedviews_policy

    app.register_blueprint(savedviews_bp)
    register_savedviews_policy()
    from app.search import bp as search_bp
    from app.search import register as register_search

    app.register_blueprint(search_bp)  # global search (issue 15)
    register_search(app)  # its index hook, policy clauses and `flask search reindex`
    # discussion on an item (issue 15): comments, @mentions, watchers
    from app.discussion import bp as discussion_bp
    from app.discussion.policy import register as register_discussion_policy

    app.register_blueprint(discussion_bp)
    register_discussion_policy()
    # The API authenticates with bearer tokens; session-cookie writes are checked
    # for a CSRF header in register_hooks instead.
    csrf.exempt(api_bp)
    init_api(app)  # flask-smorest: the blueprint, and its OpenAPI document from the schemas


def register_errorhandlers(app: Flask) -> None:
    from app.main.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app import authz
    from app.deadlines import traffic_light
    from app.exports.xlsx import month_text
    from app.journal import field_label, field_value
    from app.org.models import LEVELS, ROLES, TRIBUNAL_KINDS
    from app.tasks import rows_html
    from app.tasks.queries import traffic_light_of
    from app.timeutil import fmt_date_cn, fmt_datetime

    # Globals, not context variables: imported macros can't see context processors.
    app.jinja_env.globals["light_state"] = lambda deadline, closed, today: traffic_light(
        deadline, closed, today
    )
    app.jinja_env.globals["traffic_light_of"] = traffic_light_of
    app.jinja_env.globals["rows_html"] = rows_html  # the assignment rows and their badges
    app.jinja_env.filters["dt"] = fmt_datetime
    app.jinja_env.filters["field_label"] = field_label
    app.jinja_env.filters["field_value"] = field_value
    app.jinja_env.filters["date_cn"] = fmt_date_cn
    app.jinja_env.filters["month_cn"] = month_text  # "2026-02" → "2026年2月"

    @app.context_processor
    def inject() -> dict:
        return {
            "can": lambda action, obj=None: authz.can(current_user, action, obj),
            "may_open": lambda endpoint: authz.may_open(current_user, endpoint),
            "LEVELS": LEVELS,
            "ROLES": ROLES,
            "TRIBUNAL_KINDS": TRIBUNAL_KINDS,
            "url_map_endpoints": app.view_functions,
        }


def register_hooks(app: Flask) -> None:
    from app.extensions import csrf, login_manager

    @login_manager.request_loader
    def bearer_user(req):
        """API clients: `Authorization: Bearer <token>`."""
        from app.api.tokens import user_for
        from app.timeutil import utcnow

        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return user_for(header[7:].strip(), now=utcnow())
        return None

    @login_manager.unauthorized_handler
    def unauthorized():
        from app.auth.sessions import timeout_message

        timed_out = timeout_message()  # the server ended an idle or too old session
        if request.path.startswith("/api/"):
            return jsonify(
                {"error": timed_out or "请先登录，或在 Authorization 头中提供有效的 Bearer 令牌。"}
            ), 401
        flash(timed_out or "请先登录。", "warning")
        return redirect(
            url_for("auth.login", next=request.full_path if request.query_string else request.path)
        )

    @app.before_request
    def api_session_writes_need_csrf():
        """A browser session calling the API must prove the request came from our page."""
        if (
            request.path.startswith("/api/")
            and request.method in ("POST", "PUT", "PATCH", "DELETE")
            and not request.headers.get("Authorization", "").startswith("Bearer ")
            and "_user_id" in session
            and app.config.get("WTF_CSRF_ENABLED", True)
        ):
            csrf.protect()

    @app.before_request
    def account_setup_first():
        """A reset or expired password, then a required second factor: nothing else first."""
        from app.auth.guards import own_job_only, setup_first

        return setup_first() or own_job_only()

    @app.after_request
    def session_bookkeeping(response):
        """Last-seen times and timed-out sessions, written after the request's own work."""
        from app.auth.sessions import write_deferred

        write_deferred()
        return response


def register_web_delivery(app: Flask) -> None:
    """Issue 13: hashed, cached and gzipped static files; gzipped pages; a request id
    and one JSON log line per request. Registered after every other hook: their
    after_request hooks go first in the list, so they run last."""
    from app import assets, compression, requestlog

    assets.register(app)
    compression.register(app)
    requestlog.register(app)


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)


def register_security(app: Flask) -> None:
    """Response headers, input hygiene and the audit trail (each in its own module)."""
    from app.audit.hooks import register as register_audit
    from app.security.hardening import register as register_hardening

    register_hardening(app)
    register_audit(app)
