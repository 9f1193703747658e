"""Bulk import of units and users: preview with row errors, then all or nothing."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.importing import ImportBatch
from app.org.models import Unit, User
from tests import factories


@pytest.fixture
def admin_client(client, tree, login):
    login(factories.user("boss", tree.inter1, ["admin"]))
    return client


def _csv(rows, encoding="utf-8-sig"):
    text = "\n".join(",".join(r) for r in rows)
    return io.BytesIO(text.encode(encoding))


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["甲市法院单位导入表"])  # a title row above the header, as courts write them
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _upload(client, kind, fileobj, name):
    return client.post(
        "/admin/import", data={"kind": kind, "file": (fileobj, name)}, content_type="multipart/form-data"
    )


UNIT_HEADER = ["单位全称", "简称/别名", "上级单位", "层级", "法庭类型", "特色标签"]


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_units_from_xlsx_preview_then_commit(admin_client, db, tree):
    f = _xlsx(
        [
            UNIT_HEADER,
            ["甲三区人民法院", "甲三区法院", "甲市中院", "基层人民法院", "", ""],
            ["北湖人民法庭", "北湖法庭", "甲三区法院", "人民法庭", "专业法庭", "旅游法庭"],
        ]
    )
    resp = _upload(admin_client, "units", f, "units.xlsx")
    assert resp.status_code == 302
    preview = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "全部通过检查" in preview
    assert _count(db, Unit) == 9  # nothing saved by the preview
    batch = db.session.scalars(select(ImportBatch)).one()
    resp = admin_client.post(f"/admin/import/{batch.id}/commit")
    assert resp.status_code == 302
    hu = db.session.scalars(select(Unit).where(Unit.name == "北湖人民法庭")).one()
    assert hu.parent.name == "甲三区人民法院" and hu.feature_label == "旅游法庭"
    # committing twice does nothing more
    assert admin_client.post(f"/admin/import/{batch.id}/commit").status_code == 400
    assert _count(db, Unit) == 11


def test_one_bad_row_saves_nothing(admin_client, db, tree):
    f = _csv(
        [
            UNIT_HEADER,
            ["甲三区人民法院", "", "甲市中级人民法院", "基层人民法院", "", ""],
            ["错误法庭", "", "不存在的法院", "人民法庭", "", ""],
            ["坏层级法院", "", "甲市中级人民法院", "省级", "", ""],
            ["东山人民法庭", "", "甲二区人民法院", "人民法庭", "", ""],
            ["乙县法庭", "", "乙一县人民法院", "人民法庭", "", ""],
        ]
    )
    resp = _upload(admin_client, "units", f, "units.csv")
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "4 行有错误" in html
    assert "“不存在的法院”不存在" in html
    assert "层级“省级”无法识别" in html
    assert "已被“东山人民法庭”使用" in html
    assert "“乙一县人民法院”不存在，或不在您的管辖范围内" in html  # outside the admin's subtree
    assert "确认导入" not in html
    batch = db.session.scalars(select(ImportBatch)).one()
    resp = admin_client.post(f"/admin/import/{batch.id}/commit")
    assert resp.status_code == 400
    assert _count(db, Unit) == 9


def test_users_from_gbk_csv(admin_client, db, tree):
    """三员分立: imported accounts start with no role (an empty 角色 column is fine)."""
    f = _csv(
        [
            ["用户名", "姓名", "所属单位", "角色", "邮箱", "手机", "初始密码"],
            ["zhao", "赵一", "东山人民法庭", "", "", "13800000000", "Init2026x"],
            ["qian", "钱二", "甲一区法院", "", "qian@court.example.cn", "", "Init2026y"],
        ],
        encoding="gb18030",
    )
    resp = _upload(admin_client, "users", f, "users.csv")
    batch = db.session.scalars(select(ImportBatch)).one()
    assert "Init2026x" not in str(batch.rows)  # no plain password kept
    resp = admin_client.post(f"/admin/import/{batch.id}/commit")
    assert resp.status_code == 302
    zhao = db.session.scalars(select(User).where(User.username == "zhao")).one()
    assert zhao.roles == set() and zhao.must_change_password
    client2 = admin_client.application.test_client()
    assert client2.post("/login", data={"username": "zhao", "password": "Init2026x"}).status_code == 302


def test_user_import_without_a_roles_column(admin_client, db, tree):
    """The template has no 角色 column any more; such a file imports."""
    f = _csv([["用户名", "姓名", "所属单位", "初始密码"], ["sun", "孙三", "东山人民法庭", "Init2026x"]])
    assert _upload(admin_client, "users", f, "users.csv").status_code == 302
    batch = db.session.scalars(select(ImportBatch)).one()
    assert admin_client.post(f"/admin/import/{batch.id}/commit").status_code == 302
    assert db.session.scalars(select(User).where(User.username == "sun")).one().roles == set()


def test_user_import_that_grants_roles_is_refused(admin_client, db, tree):
    """The 系统管理员 cannot grant roles by import either: a filled 角色 cell is a row
    error, and nothing of the file is saved."""
    f = _csv(
        [
            ["用户名", "姓名", "所属单位", "角色", "初始密码"],
            ["zhou", "周四", "东山人民法庭", "", "Init2026x"],
            ["wu", "吴五", "东山人民法庭", "安全管理员", "Init2026x"],
        ]
    )
    resp = _upload(admin_client, "users", f, "users.csv")
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "1 行有错误" in html and "“角色”列须留空" in html and "安全管理员" in html
    batch = db.session.scalars(select(ImportBatch)).one()
    assert admin_client.post(f"/admin/import/{batch.id}/commit").status_code == 400
    assert _count(db, User) == 1  # the importing admin only


def test_bad_user_rows(admin_client, db, tree):
    f = _csv(
        [
            ["用户名", "姓名", "所属单位", "角色", "初始密码"],
            ["boss", "重复", "东山人民法庭", "", "Init2026x"],
            ["ok_user", "好", "东山人民法庭", "干警", "Init2026x"],
            ["dup", "甲", "东山人民法庭", "", "Init2026x"],
            ["dup", "乙", "东山人民法庭", "", "Init2026x"],
            ["weak", "弱", "东山人民法庭", "", "123"],
        ]
    )
    resp = _upload(admin_client, "users", f, "users.csv")
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已存在" in html and "“角色”列须留空" in html  # 三员分立: no roles by import
    assert "与文件中前面的行重复" in html and "至少 8 位" in html
    assert _count(db, User) == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "x.csv", "上传的文件是空的"),
        (b"PK\x03\x04garbage-not-a-zip", "x.xlsx", "无法读取该 Excel 文件"),
        (b"MZ\x90\x00fake exe", "x.xlsx", "内容不是 Excel 文件"),
        (b"PK\x03\x04garbage", "x.csv", "内容不是文本文件"),
        (b"hello", "x.pdf", "只支持 .xlsx 或 .csv"),
        (b"\xd0\xcf\x11\xe0old", "x.xls", "另存为 .xlsx"),
        ("姓名,单位\n张三,东山人民法庭".encode(), "x.csv", "表头缺少必需的列"),
        ("单位全称,上级单位,层级\n".encode(), "x.csv", "没有数据"),
    ],
)
def test_malformed_files_are_a_clear_400(admin_client, db, tree, content, name, message):
    resp = _upload(admin_client, "units", io.BytesIO(content), name)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(db, ImportBatch) == 0


def test_missing_file(admin_client):
    resp = admin_client.post("/admin/import", data={"kind": "units"}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "请选择要上传的文件" in resp.get_data(as_text=True)


def test_oversized_upload_is_413(admin_client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = _upload(admin_client, "units", io.BytesIO(b"a" * 4096), "big.csv")
    assert resp.status_code == 413
    assert "文件过大" in resp.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_download_and_import_round_trip(admin_client, db, tree, fmt):
    """The downloadable template itself is a valid file for the importer."""
    resp = admin_client.get(f"/admin/import/template/units.{fmt}")
    assert resp.status_code == 200
    resp = _upload(admin_client, "units", io.BytesIO(resp.data), f"template.{fmt}")
    assert resp.status_code == 302
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    # the template's example parent (本溪中院) is not in this test tree
    assert "“本溪市中级人民法院”不存在" in html
