"""flask-smorest wired to this app: input through marshmallow schemas with Chinese 400
messages naming the field (the parser), the blueprint that documents each operation's
answers, loading the path's object before the input, and the one way a write ends
(commit once, or roll back and answer the service's message; 409 with the version).
The document itself: app.api.openapi."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask import jsonify
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict
from werkzeug.exceptions import HTTPException

from app import authz
from app.api.fields import Sentence
from app.errors import ANY_VERSION, Conflict, ServiceError
from app.extensions import db

PREFIX = "/api/v1"
T = TypeVar("T")

REQUIRED = "\x00required"  # markers replaced by a sentence naming the field
NULL = "\x00null"
NOT_JSON = "请求体须为 JSON 对象（Content-Type: application/json）。"
NOT_FORM = "请求体须为表单（Content-Type: multipart/form-data）。"
BAD_JSON = "请求体不是有效的 JSON。"


class ApiError(HTTPException):
    """A 4xx answer `{"error": message, **extra}`."""

    def __init__(self, message: str, status: int = 400, **extra: Any):
        super().__init__(message)
        self.code = status
        self.message = message
        self.extra = extra

    def get_response(self, environ: Any = None, scope: Any = None):
        resp = jsonify({"error": self.message, **self.extra})
        resp.status_code = self.code
        return resp


# ---------------------------------------------------------------- schemas


class Schema(ma.Schema):
    """Every input schema: unknown fields are refused (a misspelt filter or field would
    otherwise be ignored silently, and the client would believe it had been applied)."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {"type": NOT_JSON}

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        field_obj.error_messages = {**field_obj.error_messages, "required": REQUIRED, "null": NULL}
        inner = getattr(field_obj, "inner", None)
        if inner is not None:
            inner.error_messages = {**inner.error_messages, "required": REQUIRED, "null": NULL}


class Out(ma.Schema):
    """Response schemas: what the API answers (dumped, never loaded). The document writes
    an answer's schema in place, as it always has; the few shared by several answers set
    `component = True` and are named once under components (Unit, Assignment, …)."""

    component = False

    class Meta:
        ordered = True


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True, metadata={"description": "中文错误说明"})


class ConflictSchema(ErrorSchema):
    version = ma.fields.Integer(required=True, metadata={"description": "该对象当前的 version"})


def explain(error: ma.ValidationError, schema: ma.Schema, location: str) -> str:
    """One Chinese sentence per wrong field, naming it ("字段 x …" / "参数 x …")."""
    kind = "参数" if location == "query" else "字段"
    by_key = {f.data_key or name: f for name, f in schema.fields.items()}
    messages = error.messages if isinstance(error.messages, Mapping) else {"_schema": error.messages}
    parts: list[str] = []
    for name, found in messages.items():
        field = by_key.get(name)
        if name == "_schema":
            parts.append(NOT_JSON if location == "json" else "请求格式不正确。")
            continue
        if field is None:
            parts.append(f"不支持{kind} {name}（请检查拼写，本接口不接受该{kind}）。")
            continue
        nested = _nested_items(field, found)
        if nested:  # objects in an array: name the item and its field
            parts += [f"{kind} {name}[{index}].{sub} {_sentence(text)}" for index, sub, text in nested]
            continue
        if isinstance(found, Mapping):  # an item of an array
            msg = field.error_messages.get("item_invalid", "格式不正确。")
        else:
            msg = found[0] if found else "格式不正确。"
        if isinstance(msg, Sentence):
            parts.append(msg)
        elif msg == REQUIRED:
            hint = field.metadata.get("hint")
            parts.append(f"缺少{kind} {name}" + (f"（{hint}）" if hint else "") + "。")
        elif msg == NULL:
            parts.append(f"{kind} {name} 不能为 null。")
        else:
            parts.append(f"{kind} {name} {msg}")
    return "".join(dict.fromkeys(parts))


def _nested_items(field: Any, found: Any) -> list[tuple[Any, str, str]]:
    """(index, field, message) for an array of objects whose items have wrong fields."""
    inner = getattr(field, "inner", None)
    if not isinstance(found, Mapping) or not isinstance(inner, ma.fields.Nested):
        return []
    out = []
    for index, item in found.items():
        if not isinstance(item, Mapping):
            return []
        for sub, msgs in item.items():
            text = msgs[0] if isinstance(msgs, list) and msgs else "格式不正确。"
            out.append((index, sub, text if isinstance(text, str) else "格式不正确。"))
    return out


def _sentence(msg: str) -> str:
    if msg == REQUIRED:
        return "缺少该字段。"
    if msg == NULL:
        return "不能为 null。"
    if msg.startswith("Unknown field"):
        return "不支持该字段（请检查拼写）。"
    return msg


def _has_body(req: Any) -> bool:
    """Whether anything was sent (a form may have been read already, leaving no data)."""
    return bool(req.content_length) or bool(req.get_data(cache=True))


class ApiParser(FlaskParser):
    """webargs for this API: 400 with a Chinese message; JSON that is not an object or
    not JSON at all is refused clearly; `multipart` is a form with its files."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = dict.fromkeys(
        ("json", "query", "form", "multipart", "json_or_multipart"), ma.RAISE
    )
    __location_map__ = {
        **FlaskParser.__location_map__,
        "multipart": "_load_multipart",
        "json_or_multipart": "_load_json_or_multipart",
    }

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            if _has_body(req):
                raise ApiError(NOT_JSON)
            return webargs_core.missing
        try:
            return webargs_core.parse_json(req.get_data(cache=True))
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError):
            # ValueError: an integer of thousands of digits; RecursionError: nesting
            raise ApiError(BAD_JSON) from None

    def _load_multipart(self, req: Any, schema: ma.Schema) -> Any:
        if req.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            if _has_body(req):
                raise ApiError(NOT_FORM)
            return webargs_core.missing
        files = [(k, f) for k, f in req.files.items(multi=True) if isinstance(f, FileStorage) and f.filename]
        return self._makeproxy(CombinedMultiDict([req.form, MultiDict(files)]), schema)

    def _load_json_or_multipart(self, req: Any, schema: ma.Schema) -> Any:
        if req.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return self._load_multipart(req, schema)
        return self.load_json(req, schema)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        location, inner = next(iter(error.messages.items()))
        raise ApiError(explain(ma.ValidationError(inner), schema, location), 400)


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint whose operations are documented from explicit `summary=`
    (Chinese, for API users) rather than from the docstrings (for developers)."""

    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
        "json_or_multipart": "application/json",
    }
    DOCSTRING_INFO_DELIMITER = ""  # every line "starts with" it: docstrings stay out of the document

    def response(self, status_code: int, schema: Any = None, *, description: str | None = None, **kw: Any):
        """As smorest's, with a Chinese description by default."""
        description = description or _OK.get(int(status_code))
        return super().response(status_code, schema, description=description, **kw)

    def errors(self, *statuses: int, conflict: bool = False) -> Callable[[T], T]:
        """Document the error answers of one operation (all `{"error": "…"}`)."""

        def decorate(func: T) -> T:
            for status in statuses:
                func = self.alt_response(status, schema=ErrorSchema, description=_DESC[status])(func)
            if conflict:
                func = self.alt_response(409, schema=ConflictSchema, description=_DESC[409])(func)
            return func

        return decorate


_OK = {200: "成功", 201: "已创建", 204: "已完成（无内容）"}
_DESC = {
    400: "输入有误（字段类型、长度、取值范围、日期、未知字段，或业务规则不允许）",
    401: "未登录，或 Bearer 令牌无效、已过期、已撤销",
    403: "无权进行此操作（或须先在网页上修改密码）",
    404: "对象不存在，或不在您的管辖范围内",
    409: "该对象已被他人修改，或请求未带 version：请重新读取后再提交",
    413: "上传的文件过大",
    429: "尝试过于频繁，请稍后再试",
    503: "目录服务（LDAP）暂时无法连接：目录账号稍后再试，本地账号不受影响",
}


# ---------------------------------------------------------------- writes


def me() -> Any:
    return current_user._get_current_object()


def run(fn: Callable[[], T], *, locked: Any = None) -> T:
    """Run one service and commit once. A ServiceError rolls back and answers its Chinese
    message and status; a conflict (a stale or missing version, or a concurrent save)
    answers 409 with the object's current version."""
    try:
        result = fn()
        db.session.flush()
    except Conflict as exc:
        db.session.rollback()
        raise ApiError(exc.message, 409, **_current_version(exc, locked)) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiError(Conflict().message, 409, **_current_version(None, locked)) from None
    except ServiceError as exc:
        db.session.rollback()
        raise ApiError(exc.message, exc.status) from None
    db.session.commit()
    return result


def _current_version(exc: Conflict | None, obj: Any) -> dict:
    current = getattr(exc, "current_version", None)
    if current is None and obj is not None:
        db.session.refresh(obj)
        current = obj.version
    return {"version": current} if current is not None else {}


def version_for(obj: Any, version: int | None, action: str) -> Any:
    """The `expected_version` to hand a service. The lock is checked after the policy: a
    caller who may not act at all hears the service's 403 (not a 409), so for them the
    service is told to skip the lock; for everyone else a missing or stale version is 409."""
    return version if authz.can(current_user, action, obj) else ANY_VERSION


def loads(loader: Callable[[int], Any], name: str) -> Callable[[T], T]:
    """Load the object the path names through the policy before the input is read: a
    hidden or missing object is 404 (a forbidden one 403) whatever the body holds. The
    view receives it as `name`."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any):
            ((_, object_id),) = kwargs.items()  # the route's one path parameter
            return func(*args, **{name: loader(object_id)})

        return wrapper

    return decorate


def scoped(model: type, action: str) -> Callable[[int], Any]:
    """A loader for `loads`: the object if the caller may `action` it (authz)."""
    return lambda object_id: authz.get_scoped_or_404(model, object_id, action, current_user)


def requires(action: str) -> Callable[[T], T]:
    """The role check before the input is read: who may not import hears 403, whatever
    they sent."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any):
            authz.require(current_user, action)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def register_handlers(blueprint: Blueprint) -> None:
    @blueprint.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return exc.get_response()

    @blueprint.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        db.session.rollback()
        return jsonify({"error": exc.message}), exc.status


def job_accepted(queue: Callable[[], Any]) -> Any:
    """A large export: queue its background job (or join the one already queued) and
    answer 202 with where to poll it. The request has only read so far; this writes."""
    from flask import jsonify, url_for

    from app.background.views import status_of
    from app.extensions import begin_writes

    db.session.rollback()
    begin_writes()
    job = run(queue)
    status = status_of(job)
    body = {
        "message": "导出的事项较多，已转为后台任务；请轮询 status_url，完成后从 job.download_url 下载。",
        "status_url": url_for("jobs.job_status", job_id=job.id),
        "job": {
            k: status[k]
            for k in ("id", "kind", "label", "state", "done", "total", "percent", "message", "download_url")
        },
    }
    return jsonify(body), 202, {"Location": body["status_url"]}
