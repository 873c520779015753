"""`ecoplan users …`: the console's accounts (ecoplan/accounts.py), managed on the server;
`unlock` lifts the login limit (ecoplan/login_limiter.py), `enrol-2fa` enrols an account's
authenticator (the admin, not whoever first holds the password), `reset-2fa` removes it.

There is no default account or password. Passwords are typed twice at a terminal, or read
from standard input with --password-stdin (one line) for scripts; never from an option,
where they would land in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Optional

import typer

from ecoplan.accounts import (AccountError, AccountNotFound, AccountStore, check_display, check_role, check_username,
                              known_roles)
from ecoplan.cli.common import JsonOpt, table
from ecoplan.cli.typer_zh import Typer
from ecoplan.contacts import FIELD_NAMES, ContactError, ContactStore
from ecoplan.contacts import check as check_contact
from ecoplan.errors import Fail, bad
from ecoplan.login_limiter import Limits, LoginLimiter
from ecoplan.totp import TotpStore, provisioning_uri, qr_terminal

users_app = Typer(no_args_is_help=True, help="网页控制台和接口的账号管理。")
MobileOpt = typer.Option(None, "--mobile", help="手机号（短信，及群机器人消息中的 @）")
EmailOpt = typer.Option(None, "--email", help="电子邮箱")
DingOpt = typer.Option(None, "--dingtalk", help="钉钉用户 ID")
WecomOpt = typer.Option(None, "--wecom", help="企业微信用户 ID")
StdinOpt = typer.Option(False, "--password-stdin", help="从标准输入读取密码（一行）")


def _store():
    return AccountStore()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise bad("--password-stdin: 标准输入为空，没有读到密码")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise bad("没有终端可输入密码：用 --password-stdin 从标准输入读取")
    try:
        first = getpass.getpass("密码: ")
        again = getpass.getpass("再输入一次: ")
    except EOFError:
        raise bad("没有读到密码") from None
    if first != again:
        raise bad("两次输入的密码不一致，未作改动")
    return first


def _do(fn, *args):
    try:
        return fn(*args)
    except AccountNotFound as e:
        raise Fail(str(e), 1) from None
    except AccountError as e:
        raise bad(str(e)) from None


@users_app.command("add")
def add(username: str = typer.Argument(..., help="登录名：小写字母、数字及 . _ -"),
        role: str = typer.Option(..., "--role", help="角色：duty_officer（值班员）、commander（指挥）、lead（工作组组长）、"
                                                         "supervisor（督查）、partner（联动单位）或 admin（系统管理员）"),
        display: str = typer.Option("", "--display", help="姓名，控制台中显示的名字"),
        mobile: Optional[str] = MobileOpt, email: Optional[str] = EmailOpt, dingtalk: Optional[str] = DingOpt,
        wecom: Optional[str] = WecomOpt, password_stdin: bool = StdinOpt, as_json: bool = JsonOpt):
    """创建账号。"""
    # Check what can be checked before asking for a password.
    _do(check_username, username)
    _do(check_role, role)
    _do(check_display, display)
    reach = {"mobile": mobile, "email": email, "dingtalk": dingtalk, "wecom": wecom}
    _contacts(lambda: [check_contact(f, v) for f, v in reach.items() if v])
    store = _store()
    if _do(store.get, username.strip()) is not None:
        raise Fail(f"账号 {username.strip()} 已存在", 1)
    acc = _do(store.add, username, role, _password(password_stdin), display, _operator())
    contact = _contacts(lambda: ContactStore(store.target).set(acc.username, **reach))
    _emit({**acc.public(), "contact": contact.public()}, as_json, f"已创建账号 {acc.label}，角色 {_role_label(acc.role)}")


@users_app.command("set")
def set_(username: str, mobile: Optional[str] = MobileOpt, email: Optional[str] = EmailOpt,
         dingtalk: Optional[str] = DingOpt, wecom: Optional[str] = WecomOpt, as_json: bool = JsonOpt):
    """设置账号的联系方式；值为空则清除该项。"""
    store = _store()
    acc = _do(store.require, username)
    c = _contacts(lambda: ContactStore(store.target).set(acc.username, mobile=mobile, email=email,
                                                       dingtalk=dingtalk, wecom=wecom))
    shown = "，".join(f"{FIELD_NAMES[f]} {getattr(c, f)}" for f in FIELD_NAMES if getattr(c, f)) or "无"
    _emit({**acc.public(), "contact": c.public()}, as_json, f"已更新 {acc.label} 的联系方式：{shown}")


def _contacts(fn):
    try:
        return fn()
    except ContactError as e:
        raise bad(str(e)) from None


@users_app.command("list")
def list_(as_json: bool = JsonOpt):
    """账号列表。"""
    accounts = _do(_store().list)
    if as_json:
        print(json.dumps([a.public() for a in accounts], ensure_ascii=False, indent=2))
        return
    if not accounts:
        print("尚无账号：ecoplan users add USERNAME --role admin 创建第一个")
        return
    store = _store()
    alarms = {a.username: a for a in _do(LoginLimiter(store, Limits()).alarms)}
    totp = TotpStore(store)
    print(table([[a.username, a.display, _role_label(a.role), "已停用" if a.disabled else "启用",
                  "已绑定" if totp.enrolled(a.username) else "—", _alarm(alarms.get(a.username)), a.created_at[:16]]
                 for a in accounts], ["用户名", "姓名", "角色", "状态", "动态口令", "登录告警", "创建于"]))
    for name in sorted(set(alarms) - {a.username for a in accounts}):
        print(f"登录告警：不存在的用户名 {name}：{_alarm(alarms[name])}")


def _alarm(a) -> str:
    return f"{a.raised_at[5:16].replace('T', ' ')} 起失败 {a.failures} 次/{a.addresses} 个地址" if a else "—"


@users_app.command("unlock")
def unlock(username: str, as_json: bool = JsonOpt):
    """解除账号的登录限制，并清除其登录告警。"""
    store = _store()
    name = (username or "").strip().lower()
    if _do(store.get, name) is None and name not in {a.username for a in _do(LoginLimiter(store, Limits()).alarms)}:
        raise Fail(f"没有账号 {username}", 1)
    n, had = _do(LoginLimiter(store, Limits()).unlock, name, _operator())
    _emit({"username": name, "failures_cleared": n, "alarm_cleared": had}, as_json,
          f"已解除 {name} 的登录限制：清除失败记录 {n} 次" + ("，登录告警已清除" if had else ""))


@users_app.command("enrol-2fa")
def enrol_2fa(username: str, as_json: bool = JsonOpt):
    """由管理员为账号登记动态口令：显示绑定二维码、密钥和 10 个恢复码，只显示这一次，请当面交给本人。"""
    store = _store()
    acc = _do(store.require, username)
    try:
        secret, codes = TotpStore(store).enrol(acc.username, _operator())
    except ValueError:
        raise Fail(f"{acc.label} 已绑定动态口令：如需更换，先运行 ecoplan users reset-2fa {acc.username}", 1) from None
    uri = provisioning_uri(secret, acc.username)
    if as_json:
        _emit({**acc.public(), "otpauth_uri": uri, "secret": secret, "recovery_codes": codes}, True, "")
        return
    print(f"已为 {acc.label} 登记动态口令。以下内容只显示这一次，请当面交给本人，不要留存：")
    if sys.stdout.isatty():  # a QR code is only useful on a screen a phone can scan
        print("用验证器 App（如 FreeOTP、Google Authenticator、Microsoft Authenticator）扫描：")
        print(qr_terminal(uri), end="")
    print(f"无法扫码时手动输入密钥：{secret}")
    print(f"或导入链接：{uri}")
    print("恢复码（手机不在身边时每个可代替一次动态口令）：")
    for code in codes:
        print(f"  {code}")


@users_app.command("reset-2fa")
def reset_2fa(username: str, as_json: bool = JsonOpt):
    """重置动态口令：移除账号的验证器（如手机丢失）；下次登录时重新绑定，不允许自行绑定时由管理员重新登记。"""
    store = _store()
    acc = _do(store.require, username)
    gone = _do(TotpStore(store).reset, acc.username, _operator())
    again = "下次登录时重新绑定" if _self_enrol() else f"请用 ecoplan users enrol-2fa {acc.username} 重新登记"
    _emit({**acc.public(), "totp_removed": gone}, as_json,
          f"已重置 {acc.label} 的动态口令，其登录会话已全部失效；{again}" if gone
          else f"{acc.label} 尚未绑定动态口令，无需重置")


def _self_enrol() -> bool:
    from activities.settings import SettingsError, settings

    try:
        return settings().totp_self_enrol
    except SettingsError as e:
        raise bad(str(e)) from None


def _operator() -> str:
    """Who ran the command, for the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@users_app.command("disable")
def disable(username: str, as_json: bool = JsonOpt):
    """停用账号；其会话立即结束。"""
    acc = _do(_store().set_disabled, username, True, _operator())
    _emit(acc.public(), as_json, f"已停用账号 {acc.label}，其登录会话已全部失效")


@users_app.command("enable")
def enable(username: str, as_json: bool = JsonOpt):
    """重新启用已停用的账号。"""
    acc = _do(_store().set_disabled, username, False, _operator())
    _emit(acc.public(), as_json, f"已启用账号 {acc.label}")


@users_app.command("passwd")
def passwd(username: str, password_stdin: bool = StdinOpt, as_json: bool = JsonOpt):
    """修改账号的密码；其会话随即结束。"""
    store = _store()
    acc = _do(store.require, username)
    _do(store.set_password, acc.username, _password(password_stdin), _operator())
    _emit(acc.public(), as_json, f"已修改 {acc.label} 的密码，其登录会话已全部失效")


def _role_label(role_id: str) -> str:
    name = known_roles().get(role_id)
    return f"{name}（{role_id}）" if name else role_id


def _emit(data: dict, as_json: bool, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)

