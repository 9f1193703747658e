from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import BaseForm, VersionedForm
from app.org.models import LEVELS, ROLES, TRIBUNAL_KINDS

NAME_HELP = "多个简称或别名用顿号“、”或逗号分隔，如：本溪县人民法院、本溪县法院"


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UnitForm(VersionedForm):
    name = StringField(
        "单位全称",
        validators=[DataRequired("请填写单位全称。"), Length(max=100, message="单位全称不能超过 100 个字。")],
    )
    aliases = StringField("简称 / 别名", validators=[Optional(), Length(max=500)], description=NAME_HELP)
    level = SelectField("层级", choices=dict(LEVELS))
    tribunal_kind = SelectField(
        "法庭类型", choices={"": "（不适用）", **TRIBUNAL_KINDS}, validate_choice=True
    )
    feature_label = StringField(
        "特色标签",
        validators=[Optional(), Length(max=50, message="特色标签不能超过 50 个字。")],
        description="如：旅游法庭、林下参产业法庭",
    )


class MoveUnitForm(VersionedForm):
    parent_id = SelectField("新的上级单位", coerce=int, validators=[DataRequired("请选择新的上级单位。")])


class UserForm(VersionedForm):
    """The 系统管理员's form: an account's basic data. No roles here (三员分立): the
    安全管理员 grants them on the user's page (RolesForm)."""

    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(min=2, max=50)])
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=50)])
    unit_id = SelectField("所属单位", coerce=int, validators=[DataRequired("请选择所属单位。")])
    email = StringField("邮箱", validators=[Optional(), Email("邮箱格式不正确。"), Length(max=120)])
    phone = StringField("手机", validators=[Optional(), Length(max=30)])
    password = PasswordField(
        "初始密码",
        validators=[Optional(), Length(max=128)],
        description="至少 8 位，含大写字母、小写字母、数字、符号中的三类，不含用户名；用户首次登录后须修改。",
    )


class RolesForm(VersionedForm):
    """The 安全管理员's form: which roles an account holds."""

    roles = MultiCheckboxField(
        "角色",
        choices=dict(ROLES),
        description="系统管理员、安全管理员、安全审计员三者只能选其一（三员分立）；不选任何角色时该账号只能查看本单位。",
    )


class ResetPasswordForm(BaseForm):
    password = PasswordField(
        "临时密码",
        validators=[DataRequired("请填写临时密码。"), Length(max=128)],
        description="至少 8 位，含大写字母、小写字母、数字、符号中的三类，不含用户名；用户登录后须立即修改。",
    )


class ImportForm(BaseForm):
    kind = SelectField("导入内容", choices={"units": "单位", "users": "用户"})
