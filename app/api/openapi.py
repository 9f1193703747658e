"""The OpenAPI 3 description of /api/v1 (served at /api/v1/openapi.json).

A test checks that every API route is described here, so the document can't
silently fall behind the code."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _json_body(props: dict[str, Any], required: list[str]) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:  # OpenAPI 3.0 forbids an empty `required` list
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict | None = None, status: str = "200") -> dict:
    resp: dict[str, Any] = {"description": description}
    if schema is not None:
        resp["content"] = {"application/json": {"schema": schema}}
    return {status: resp, "400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR}


def _id_param(name: str = "id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _q(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


S = {"type": "string"}
INT = {"type": "integer"}
D = {"type": "string", "format": "date"}
ASSIGNMENT = {"$ref": "#/components/schemas/Assignment"}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "强基通 API",
            "version": "1.0.0",
            "description": "人民法院强基工程管理系统接口。所有接口与页面使用同一套权限：只能访问本单位及下级单位的数据；"
            '范围外的对象返回 404。错误以 JSON {"error": "中文说明"} 和 4xx 状态码返回。',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "POST /auth/token 取得"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "浏览器会话；写操作须带 X-CSRFToken 请求头",
                },
            },
            "responses": {
                "Error": {
                    "description": "错误",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"error": S}, "required": ["error"]}
                        }
                    },
                }
            },
            "schemas": {
                "DashboardTotals": {
                    "type": "object",
                    "properties": {
                        "total": INT,
                        "closed": INT,
                        "on_time": INT,
                        "overdue": INT,
                        "on_time_rate": {"type": "number", "nullable": True},
                        "red": INT,
                        "yellow": INT,
                        "green": INT,
                        "grey": INT,
                        "rectifications": INT,
                        "rectifications_open": INT,
                        "rectification_closure_rate": {"type": "number", "nullable": True},
                        "checklists": INT,
                        "checklist_compliance": {"type": "number", "nullable": True},
                        "visits": INT,
                    },
                },
                "DashboardChild": {
                    "type": "object",
                    "required": [
                        "unit_id",
                        "name",
                        "total",
                        "closed",
                        "overdue",
                        "on_time_rate",
                        "red",
                        "yellow",
                        "green",
                    ],
                    "properties": {
                        "unit_id": INT,
                        "name": S,
                        "level": S,
                        "total": INT,
                        "closed": INT,
                        "on_time": INT,
                        "overdue": INT,
                        "on_time_rate": {"type": "number", "nullable": True},
                        "red": INT,
                        "yellow": INT,
                        "green": INT,
                        "rectifications_open": INT,
                        "checklist_compliance": {"type": "number", "nullable": True},
                        "visits": INT,
                    },
                },
                "RankRow": {
                    "type": "object",
                    "properties": {
                        "rank": {
                            "type": "integer",
                            "nullable": True,
                            "description": "名次（成绩相同名次相同）；本月没有可比事项为 null",
                        },
                        "unit_id": INT,
                        "unit": S,
                        "total": INT,
                        "closed": INT,
                        "on_time": INT,
                        "overdue": INT,
                        "on_time_rate": {"type": "number", "nullable": True},
                        "rectifications": INT,
                        "rectifications_closed": INT,
                        "rectification_closure_rate": {"type": "number", "nullable": True},
                        "checklist_compliance": {"type": "number", "nullable": True},
                        "previous_rank": {"type": "integer", "nullable": True},
                        "change": {
                            "type": "integer",
                            "nullable": True,
                            "description": "较上月名次变化，正数为上升",
                        },
                    },
                },
                "Unit": {
                    "type": "object",
                    "properties": {
                        "id": INT,
                        "name": S,
                        "level": {"type": "string", "enum": ["high", "intermediate", "base", "tribunal"]},
                        "parent_id": {"type": "integer", "nullable": True},
                        "aliases": {"type": "array", "items": S},
                    },
                },
                "Assignment": {
                    "type": "object",
                    "properties": {
                        "id": INT,
                        "task_id": INT,
                        "unit_id": INT,
                        "title": S,
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "submitted", "closed", "returned"],
                        },
                        "deadline": {**D, "nullable": True},
                        "progress": INT,
                        "overdue": {"type": "boolean"},
                        "due_soon": {"type": "boolean"},
                    },
                },
            },
        },
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "本文档",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 文档"}},
                }
            },
            "/auth/token": {
                "post": {
                    "summary": "用户名密码换取 Bearer 令牌（30 天有效）",
                    "security": [],
                    "requestBody": _json_body({"username": S, "password": S}, ["username", "password"]),
                    "responses": {
                        **_ok("令牌", {"type": "object", "properties": {"token": S}}),
                        "429": ERROR,
                    },
                }
            },
            "/units": {
                "get": {
                    "summary": "单位及其全部下级",
                    "parameters": [_q("under", INT, "子树根单位 id，默认本单位")],
                    "responses": _ok(
                        "单位列表", {"type": "array", "items": {"$ref": "#/components/schemas/Unit"}}
                    ),
                }
            },
            "/units/{id}": {
                "get": {
                    "summary": "单个单位",
                    "parameters": [_id_param()],
                    "responses": _ok("单位", {"$ref": "#/components/schemas/Unit"}),
                }
            },
            "/projects": {
                "post": {
                    "summary": "新建项目",
                    "requestBody": _json_body(
                        {"name": S, "owner_unit_id": INT, "start": D, "end": D, "description": S},
                        ["name", "owner_unit_id", "start", "end"],
                    ),
                    "responses": _ok("已创建", {"type": "object", "properties": {"id": INT}}, "201"),
                }
            },
            "/tasks": {
                "post": {
                    "summary": "新建清单事项并交办",
                    "requestBody": _json_body(
                        {
                            "project_id": INT,
                            "title": S,
                            "requirements": S,
                            "lead_leader": S,
                            "deadline": {
                                "type": "string",
                                "description": "YYYY-MM-DD，或 长期坚持 / 每月 / 每季度 / 每半年",
                            },
                            "unit_ids": {"type": "array", "items": INT},
                        },
                        ["project_id", "title", "deadline"],
                    ),
                    "responses": _ok(
                        "已创建",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "assignments": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {"id": INT, "unit_id": INT, "status": S},
                                    },
                                },
                            },
                        },
                        "201",
                    ),
                }
            },
            "/assignments": {
                "get": {
                    "summary": "承办事项列表（按权限范围过滤）",
                    "parameters": [
                        _q(
                            "status",
                            {
                                "type": "string",
                                "enum": [
                                    "open",
                                    "overdue",
                                    "due_soon",
                                    "pending",
                                    "in_progress",
                                    "submitted",
                                    "closed",
                                    "returned",
                                ],
                            },
                        ),
                        _q("unit", INT, "单位子树"),
                        _q("project", INT),
                        _q("from", D),
                        _q("to", D),
                        _q("page", INT),
                        _q("per_page", INT),
                    ],
                    "responses": _ok(
                        "列表",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ASSIGNMENT}, "total": INT},
                        },
                    ),
                }
            },
            "/assignments/{id}/acknowledge": {
                "post": {
                    "summary": "签收",
                    "parameters": [_id_param()],
                    "responses": _ok("已签收", ASSIGNMENT),
                }
            },
            "/assignments/{id}/progress": {
                "post": {
                    "summary": "进度反馈（可附佐证材料；submit=1 同时提交审核）",
                    "parameters": [_id_param()],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "text": S,
                                        "percent": INT,
                                        "submit": S,
                                        "files": {
                                            "type": "array",
                                            "items": {"type": "string", "format": "binary"},
                                        },
                                    },
                                    "required": ["text"],
                                }
                            }
                        },
                    },
                    "responses": _ok(
                        "已反馈",
                        {"type": "object", "properties": {"report_id": INT, "assignment": ASSIGNMENT}},
                        "201",
                    ),
                }
            },
            "/assignments/{id}/review": {
                "post": {
                    "summary": "审核：办结或退回",
                    "parameters": [_id_param()],
                    "requestBody": _json_body(
                        {"decision": {"type": "string", "enum": ["approve", "return"]}, "comment": S},
                        ["decision"],
                    ),
                    "responses": _ok("已审核", ASSIGNMENT),
                }
            },
            "/assignments/{id}/extension": {
                "post": {
                    "summary": "延期申请",
                    "parameters": [_id_param()],
                    "requestBody": _json_body({"new_deadline": D, "reason": S}, ["new_deadline", "reason"]),
                    "responses": _ok(
                        "已申请", {"type": "object", "properties": {"id": INT, "status": S}}, "201"
                    ),
                }
            },
            "/completion-list": {
                "get": {
                    "summary": "完成清单（按直接下级单位汇总）",
                    "parameters": [_q("unit", INT), _q("project", INT), _q("from", D), _q("to", D)],
                    "responses": _ok(
                        "完成清单",
                        {
                            "type": "object",
                            "properties": {
                                "units": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "unit_id": INT,
                                            "closed": INT,
                                            "open": INT,
                                            "overdue": INT,
                                            "on_time_rate": {"type": "number", "nullable": True},
                                        },
                                    },
                                }
                            },
                        },
                    ),
                }
            },
            "/completion-list.xlsx": {
                "get": {
                    "summary": "完成清单 Excel",
                    "parameters": [_q("unit", INT), _q("project", INT), _q("from", D), _q("to", D)],
                    "responses": {
                        "200": {
                            "description": "XLSX 文件",
                            "content": {
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}
                            },
                        },
                        "404": ERROR,
                    },
                }
            },
            "/imports/tasks": {
                "post": {
                    "summary": "上传任务清单并预览（不保存）",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "project_id": INT,
                                    },
                                    "required": ["file", "project_id"],
                                }
                            }
                        },
                    },
                    "responses": _ok(
                        "预览",
                        {
                            "type": "object",
                            "properties": {
                                "import_id": INT,
                                "rows": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "row": INT,
                                            "title": S,
                                            "unit_ids": {"type": "array", "items": INT},
                                            "deadline": {"type": "object"},
                                            "errors": {"type": "array", "items": S},
                                        },
                                    },
                                },
                            },
                        },
                        "201",
                    ),
                }
            },
            "/imports/{id}/commit": {
                "post": {
                    "summary": "确认导入（可排除出错的行）",
                    "parameters": [_id_param()],
                    "requestBody": _json_body({"exclude_rows": {"type": "array", "items": INT}}, []),
                    "responses": _ok(
                        "已导入", {"type": "object", "properties": {"import_id": INT, "created": INT}}
                    ),
                }
            },
            "/visits": {
                "post": {
                    "summary": "安排督导走访；给出 summary 且开始日期不晚于今天时同时记录为已完成（实际日期＝计划日期）",
                    "requestBody": _json_body(
                        {
                            "kind": {
                                "oneOf": [S, INT],
                                "description": "走访类型名称（如“蹲点指导”）或其 id",
                            },
                            "organizer_unit_id": INT,
                            "target_unit_ids": {"type": "array", "items": INT},
                            "start": D,
                            "end": D,
                            "leader_ids": {"type": "array", "items": INT},
                            "summary": S,
                            "title": {**S, "description": "默认“走访类型：对象单位”"},
                            "topics": S,
                            "team": S,
                            "suggestions": S,
                            "solved_on_spot": S,
                        },
                        ["kind", "organizer_unit_id", "target_unit_ids", "start", "end", "leader_ids"],
                    ),
                    "responses": _ok(
                        "已创建",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "status": {"type": "string", "enum": ["planned", "done"]},
                            },
                        },
                        "201",
                    ),
                }
            },
            "/visits/{id}": {
                "get": {
                    "summary": "单次走访及其发现的问题",
                    "parameters": [_id_param()],
                    "responses": _ok(
                        "走访",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "kind": S,
                                "title": S,
                                "organizer_unit_id": INT,
                                "status": {"type": "string", "enum": ["planned", "done"]},
                                "planned_start": D,
                                "planned_end": D,
                                "actual_start": {**D, "nullable": True},
                                "actual_end": {**D, "nullable": True},
                                "leader_ids": {"type": "array", "items": INT},
                                "target_unit_ids": {"type": "array", "items": INT},
                                "summary": {**S, "nullable": True},
                                "suggestions": {**S, "nullable": True},
                                "solved_on_spot": {**S, "nullable": True},
                                "findings": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": INT,
                                            "unit_id": INT,
                                            "description": S,
                                            "rectification_id": INT,
                                            "status": S,
                                            "deadline": D,
                                            "overdue": {"type": "boolean"},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                }
            },
            "/visits/{id}/findings": {
                "post": {
                    "summary": "登记发现的问题，生成交给被走访单位的整改事项（由带队领导核验）",
                    "parameters": [_id_param()],
                    "requestBody": _json_body(
                        {
                            "unit_id": INT,
                            "description": S,
                            "deadline": D,
                            "verifier_id": {
                                **INT,
                                "description": "核验人，须为本次带队领导；默认本人或第一位",
                            },
                        },
                        ["unit_id", "description", "deadline"],
                    ),
                    "responses": _ok(
                        "已登记",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "rectification_id": {**INT, "description": "整改事项（承办事项）id"},
                            },
                        },
                        "201",
                    ),
                }
            },
            "/rectifications/{id}/report": {
                "post": {
                    "summary": "整改反馈并提交核验（可附佐证材料）；id 为整改事项的承办事项 id",
                    "parameters": [_id_param()],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "text": S,
                                        "files": {
                                            "type": "array",
                                            "items": {"type": "string", "format": "binary"},
                                        },
                                    },
                                    "required": ["text"],
                                }
                            }
                        },
                    },
                    "responses": _ok(
                        "已提交",
                        {"type": "object", "properties": {"report_id": INT, "assignment": ASSIGNMENT}},
                        "201",
                    ),
                }
            },
            "/rectifications/{id}/verify": {
                "post": {
                    "summary": "核验：销号（close）或退回整改（return，须写理由）；核验人或其上级院领导",
                    "parameters": [_id_param()],
                    "requestBody": _json_body(
                        {"decision": {"type": "string", "enum": ["close", "return"]}, "comment": S},
                        ["decision"],
                    ),
                    "responses": _ok("已核验", ASSIGNMENT),
                }
            },
            "/visits/coverage": {
                "get": {
                    "summary": "走访覆盖：单位下的基层法院和人民法庭近 N 个月的走访次数、最近一次、带队领导、未走访单位",
                    "parameters": [
                        _q("unit", INT, "根单位 id，默认本单位"),
                        _q("months", {"type": "integer", "minimum": 1, "maximum": 60, "default": 6}),
                    ],
                    "responses": _ok(
                        "覆盖情况",
                        {
                            "type": "object",
                            "properties": {
                                "units": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "unit_id": INT,
                                            "name": S,
                                            "visits": INT,
                                            "last_visit": {**D, "nullable": True},
                                            "leaders": {"type": "array", "items": S},
                                        },
                                    },
                                },
                                "unvisited": {"type": "array", "items": INT},
                            },
                        },
                    ),
                }
            },
            "/checklist-templates": {
                "get": {
                    "summary": "检查清单模板（已发布的各版本；模板管理员另见草稿）",
                    "responses": _ok(
                        "模板列表",
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": INT,
                                    "name": S,
                                    "version": INT,
                                    "family": S,
                                    "status": {"type": "string", "enum": ["draft", "published"]},
                                },
                            },
                        },
                    ),
                }
            },
            "/checklists": {
                "get": {
                    "summary": "当前检查清单及达标率（按权限范围过滤）",
                    "parameters": [_q("unit", INT, "单位子树"), _q("family", S, "标准编号")],
                    "responses": _ok(
                        "列表",
                        {
                            "type": "object",
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": INT,
                                            "unit_id": INT,
                                            "template_id": INT,
                                            "compliance": {"type": "number"},
                                        },
                                    },
                                }
                            },
                        },
                    ),
                },
                "post": {
                    "summary": "将已发布的模板应用到下级单位（每个单位一份清单）",
                    "requestBody": _json_body(
                        {
                            "template_id": INT,
                            "unit_ids": {"type": "array", "items": INT},
                            "due": D,
                            "reapply": {
                                "type": "boolean",
                                "description": "已应用过该标准时改用此版本（沿用已核验的同编号检查项）",
                            },
                        },
                        ["template_id", "unit_ids", "due"],
                    ),
                    "responses": _ok(
                        "已应用",
                        {"type": "object", "properties": {"ids": {"type": "array", "items": INT}}},
                        "201",
                    ),
                },
            },
            "/checklists/{id}": {
                "get": {
                    "summary": "单份检查清单：检查项及达标率（已核验权重 ÷ 总权重）",
                    "parameters": [_id_param()],
                    "responses": _ok(
                        "检查清单",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "unit_id": INT,
                                "template_id": INT,
                                "version": INT,
                                "compliance": {"type": "number", "description": "0 到 1"},
                                "entries": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": INT,
                                            "code": S,
                                            "title": S,
                                            "section": S,
                                            "status": {
                                                "type": "string",
                                                "enum": ["missing", "claimed", "verified", "rejected"],
                                            },
                                            "weight": {"type": "number"},
                                            "evidence_required": {"type": "boolean"},
                                            "due": {**D, "nullable": True},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                }
            },
            "/checklist-entries/{id}": {
                "post": {
                    "summary": "检查项：本单位填报完成（done，需要时附佐证），或上级核验通过（verified）/驳回（rejected，须写理由）",
                    "parameters": [_id_param()],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {
                                            "type": "string",
                                            "enum": ["done", "verified", "rejected"],
                                        },
                                        "comment": S,
                                    },
                                    "required": ["status"],
                                }
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {
                                            "type": "string",
                                            "enum": ["done", "verified", "rejected"],
                                        },
                                        "comment": S,
                                        "files": {
                                            "type": "array",
                                            "items": {"type": "string", "format": "binary"},
                                        },
                                    },
                                    "required": ["status"],
                                }
                            },
                        },
                    },
                    "responses": _ok(
                        "已保存",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "code": S,
                                "title": S,
                                "section": S,
                                "status": {
                                    "type": "string",
                                    "enum": ["missing", "claimed", "verified", "rejected"],
                                },
                                "weight": {"type": "number"},
                                "evidence_required": {"type": "boolean"},
                                "evidence": {**INT, "description": "佐证材料件数"},
                                "due": {**D, "nullable": True},
                                "comment": {**S, "nullable": True},
                                "checklist_id": INT,
                                "compliance": {"type": "number"},
                            },
                        },
                    ),
                }
            },
            "/notifications": {
                "get": {
                    "summary": "本人的站内通知（新的在前）",
                    "parameters": [
                        _q("unread", INT, "1：只列未读"),
                        _q("page", INT, "页码，从 1 起"),
                        _q("per_page", {"type": "integer", "maximum": 200}, "每页条数，默认 50，最多 200"),
                    ],
                    "responses": _ok(
                        "通知列表与未读总数",
                        {
                            "type": "object",
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": INT,
                                            "kind": S,
                                            "subject_type": {
                                                "type": "string",
                                                "enum": ["Assignment", "ChecklistEntry", "Task"],
                                            },
                                            "subject_id": INT,
                                            "message": S,
                                            "created_at": {"type": "string", "format": "date-time"},
                                            "read_at": {
                                                "type": "string",
                                                "format": "date-time",
                                                "nullable": True,
                                            },
                                        },
                                    },
                                },
                                "unread": INT,
                                "page": INT,
                                "per_page": INT,
                            },
                        },
                    ),
                }
            },
            "/notifications/{id}/read": {
                "post": {
                    "summary": "将本人的一条通知标为已读（他人的通知返回 404）",
                    "parameters": [_id_param()],
                    "responses": _ok(
                        "已读",
                        {
                            "type": "object",
                            "properties": {
                                "id": INT,
                                "read_at": {"type": "string", "format": "date-time", "nullable": True},
                            },
                        },
                    ),
                }
            },
            "/dashboard": {
                "get": {
                    "summary": "工作概览：单位及其全部下级的汇总，和每个直属下级单位一行（各自含其下级）",
                    "description": "统计口径与完成清单相同：上级交办的事项（法院内部分解到法庭的不重复计算），"
                    "from/to 按完成时限筛选；按期完成率 = 按期办结 ÷（已办结 + 逾期）；"
                    "红黄绿灯为派生状态（红灯 = 逾期，黄灯 = 7 天内到期或进度落后，绿灯 = 其余未办结，灰灯 = 已办结）；"
                    "走访按走访日期统计，未给期间时为本年。",
                    "parameters": [
                        _q("unit", INT, "单位 ID，默认本单位"),
                        _q("project", INT, "项目 ID"),
                        _q("category", INT, "事项类别 ID"),
                        _q("from", D, "完成时限起（含）"),
                        _q("to", D, "完成时限止（含）"),
                    ],
                    "responses": _ok(
                        "汇总与下级单位",
                        {
                            "type": "object",
                            "required": ["unit_id", "totals", "children"],
                            "properties": {
                                "unit_id": INT,
                                "name": S,
                                "as_of": D,
                                "filters": {"type": "object"},
                                "totals": {"$ref": "#/components/schemas/DashboardTotals"},
                                "children": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/DashboardChild"},
                                },
                            },
                        },
                    ),
                }
            },
            "/rankings": {
                "get": {
                    "summary": "赛马排名：本省中级法院或基层法院某月的排名、较上月名次变化和逾期红榜",
                    "parameters": [
                        _q(
                            "level", {"type": "string", "enum": ["intermediate", "base"]}, "默认 intermediate"
                        ),
                        _q("period", {"type": "string", "pattern": "^\\d{4}-\\d{2}$"}, "YYYY-MM，默认本月"),
                        _q(
                            "by",
                            {"type": "string", "enum": ["rate", "overdue", "rect", "compliance"]},
                            "排名依据，默认 rate（按期完成率）",
                        ),
                    ],
                    "responses": _ok(
                        "排名",
                        {
                            "type": "object",
                            "properties": {
                                "level": S,
                                "period": S,
                                "by": S,
                                "as_of": D,
                                "unit_id": INT,
                                "rankings": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/RankRow"},
                                },
                                "red_list": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "assignment_id": INT,
                                            "title": S,
                                            "unit": S,
                                            "deadline": D,
                                            "days": INT,
                                        },
                                    },
                                },
                            },
                        },
                    ),
                }
            },
        },
    }
