"""`ecoplan … --help` in the plan's Chinese (issue 22): the Typer app, its groups and commands
with typer's own words replaced where typer lets us, through its public hooks (the command
and group classes, `rich_help_panel`, metavars), never by patching the library.

What is replaced: the usage line's "Usage:" (用法：), "[OPTIONS]" and "COMMAND [ARGS]..." (the
metavars), the panel titles (参数, 选项, 命令), the --help option's sentence, and each
option's type ("<str>" becomes 文本, a flag shows none) and "[default: …]" (默认：…, in
the help's sentence), and "[required]" after a required parameter's help ([必填]: typer reads
it from the module constant typer.rich_utils.REQUIRED_LONG_STRING when it draws the help, so
setting that constant is the one place a typer word is set outside these hooks).
Long help wraps only at spaces (rich): BREAK puts one after the Chinese punctuation.
"""

from __future__ import annotations

import re

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

ARGUMENTS, OPTIONS, COMMANDS = "参数", "选项", "命令"
REQUIRED = "[必填]"
try:
    import typer.rich_utils as _rich_utils

    _rich_utils.REQUIRED_LONG_STRING = REQUIRED
except ImportError:  # typer without rich draws plain help, where click writes "required" itself
    pass
HELP = "显示本说明后退出。"
# An argument's name as the usage line and the error lines show it (ecoplan/cli/app.py).
ARGUMENT_NAMES = {"incident_id": "事件编号", "file": "文件", "path": "文件", "username": "用户名", "name": "名称",
                  "scenario": "情景", "page_id": "呼叫编号"}
# The value an option takes, by its Python type, as the help shows it.
TYPES = {"str": "文本", "int": "整数", "float": "数值", "Path": "文件", "list[str]": "文本", "list[int]": "整数"}


def _no_type(ctx=None) -> None:
    return None


# The help column breaks lines only at spaces (rich): a long run of Chinese and identifiers
# without one is cut short with "…". A space after the Chinese comma, semicolon, colon, full stop and
# closing bracket lets it wrap there.
BREAK = re.compile(r"([、，；：。）])(?=[^\s、，；：。）])")


def _zh(param) -> None:
    """One parameter in Chinese: its panel, the type shown after it, where its help may wrap."""
    if getattr(param, "help", None):
        param.help = BREAK.sub(r"\1 ", param.help)
    if getattr(param, "rich_help_panel", None) is None:
        param.rich_help_panel = ARGUMENTS if isinstance(param, TyperArgument) else OPTIONS
    if isinstance(param, TyperArgument):
        param.display_type_rich = _no_type  # the argument's help says what it is
        if param.metavar is None and param.name in ARGUMENT_NAMES:
            param.metavar = ARGUMENT_NAMES[param.name]
    elif isinstance(param, TyperOption):
        _default(param)
    if isinstance(param, TyperOption) and param.metavar is None:
        if param.is_flag or param.count:
            param.metavar = ""
        elif not param.type_descriptor.is_choice:  # a choice shows its values, typed as is
            param.metavar = TYPES.get(param.bare_type(), "值")


def _default(opt: TyperOption) -> None:
    """A default worth showing in the help's words (typer's "[default: …]" is English)."""
    d = opt.default
    if opt.show_default and not opt.is_flag and isinstance(d, (str, int, float)) and not isinstance(d, bool) \
            and d != "" and "默认" not in (opt.help or ""):
        opt.help = f"{opt.help or ''}（默认：{d}）"
    opt.show_default = False


class _Zh:
    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            opt.help, opt.rich_help_panel, opt.metavar = HELP, OPTIONS, ""
        return opt

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix="用法：")


class Command(_Zh, TyperCommand):
    def __init__(self, *args, **kw):
        kw["options_metavar"] = "[选项]"
        super().__init__(*args, **kw)
        self.help = BREAK.sub(r"\1 ", self.help) if self.help else self.help
        for p in self.params:
            _zh(p)


class Group(_Zh, TyperGroup):
    def __init__(self, *args, **kw):
        kw["options_metavar"] = "[选项]"
        kw["subcommand_metavar"] = "命令 [参数]..."
        super().__init__(*args, **kw)
        self.help = BREAK.sub(r"\1 ", self.help) if self.help else self.help
        for p in self.params:
            _zh(p)


class Typer(typer.Typer):
    """typer.Typer whose groups and commands speak Chinese in --help."""

    def __init__(self, **kw):
        kw.setdefault("cls", Group)
        kw.setdefault("rich_help_panel", COMMANDS)
        super().__init__(**kw)

    def add_typer(self, typer_instance, **kw):
        if kw.get("name"):
            kw.setdefault("rich_help_panel", COMMANDS)
        return super().add_typer(typer_instance, **kw)

    def command(self, name=None, **kw):
        kw.setdefault("cls", Command)
        kw.setdefault("rich_help_panel", COMMANDS)
        return super().command(name, **kw)
