from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms import BaseForm


class LoginForm(BaseForm):
    username = StringField(
        "用户名",
        validators=[DataRequired("请输入用户名。"), Length(max=50)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "密码",
        validators=[DataRequired("请输入密码。"), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(BaseForm):
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码。"), Length(max=128)])
    # Length and composition are the policy's (app/auth/passwords.py): one message per rule.
    new_password = PasswordField(
        "新密码",
        validators=[DataRequired("请输入新密码。"), Length(max=128)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "再次输入新密码",
        validators=[DataRequired("请再次输入新密码。"), EqualTo("new_password", "两次输入的新密码不一致。")],
        render_kw={"autocomplete": "new-password"},
    )


class CodeForm(BaseForm):
    """A code from the authenticator app (or, at login, a recovery code)."""

    code = StringField(
        "动态验证码",
        validators=[DataRequired("请输入验证码。"), Length(max=20, message="验证码过长。")],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True},
    )
