"""How strong a new password must be: the 等保 complexity rule, then zxcvbn's estimate.

GB/T 22239-2019 (third level) 8.1.4.1 a): "身份鉴别信息具有复杂度要求并定期更换" (the wording
as quoted by published readings of the standard; its own text was not at hand). It names no
composition; the rule below is the reading common in 等保 testing (at least 8
characters of at least three kinds), taken here as a LOCAL READING: kinds are upper-case
letters, lower-case letters, digits, symbols (space included), and Chinese or other
characters; at least three of these five. The length floor is accounts.MIN_PASSWORD (10).

zxcvbn (Dropbox's estimator, the maintained Python port) then refuses what is easy to guess
despite its kinds (Password123!, a keyboard walk, the username): its score must be at least
MIN_SCORE (3: "safely unguessable: moderate protection from offline slow-hash scenario").
Every refusal is one Chinese sentence saying what to change.
"""

from __future__ import annotations

MIN_KINDS = 3
MIN_SCORE = 3

KINDS = ("大写字母", "小写字母", "数字", "符号", "汉字等其他字符")

# zxcvbn's warnings, said in Chinese (the ones its matchers give; others fall back to a general line).
WARNINGS = {
    "Straight rows of keys are easy to guess.": "键盘上连成一行的键容易被猜中",
    "Short keyboard patterns are easy to guess.": "短的键盘图案容易被猜中",
    'Repeats like "aaa" are easy to guess.': "像 aaa 这样的重复容易被猜中",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "像 abcabc 这样的重复并不比 abc 难猜多少",
    "Sequences like abc or 6543 are easy to guess.": "像 abc、6543 这样的顺序容易被猜中",
    "Recent years are easy to guess.": "近年的年份容易被猜中",
    "Dates are often easy to guess.": "日期容易被猜中",
    "This is a top-10 common password.": "这是最常用的十个密码之一",
    "This is a top-100 common password.": "这是最常用的一百个密码之一",
    "This is a very common password.": "这是很常见的密码",
    "This is similar to a commonly used password.": "这与常见密码相近",
    "A word by itself is easy to guess.": "单个词语容易被猜中",
    "Names and surnames by themselves are easy to guess.": "单独的姓名容易被猜中",
    "Common names and surnames are easy to guess.": "常见的姓名容易被猜中",
}


def kinds(password: str) -> set[str]:
    found = set()
    for c in password:
        if "A" <= c <= "Z":
            found.add(KINDS[0])
        elif "a" <= c <= "z":
            found.add(KINDS[1])
        elif c.isascii() and c.isdigit():
            found.add(KINDS[2])
        elif c.isascii():
            found.add(KINDS[3])
        else:
            found.add(KINDS[4])
    return found


def weakness(password: str, personal: tuple[str, ...] = ()) -> str | None:
    """Why this password is too weak, as one sentence for the person choosing it; None if strong
    enough. `personal`: the username and name, which zxcvbn counts as easy to guess."""
    have = kinds(password)
    if len(have) < MIN_KINDS:
        missing = "、".join(k for k in KINDS if k not in have)
        return (f"密码太简单：须含大写字母、小写字母、数字、符号、汉字中至少 {MIN_KINDS} 类（现有 {len(have)} 类），"
                f"请加入{missing}中的一两类")
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=[p for p in personal if p])
    if result["score"] >= MIN_SCORE:
        return None
    warning = WARNINGS.get(result["feedback"].get("warning") or "", "")
    why = f"（{warning}）" if warning else ""
    return f"密码太容易被猜中{why}：请加长，并加入不相关的词语，不要用用户名、姓名、年份、常见密码或键盘顺序"
