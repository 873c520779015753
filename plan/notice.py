"""Reading the State Council's yearly holiday notice (国务院办公厅关于XXXX年部分节假日安排的通知).

`parse_notice(text)` takes the notice's text as published -- pasted from a web page or a PDF,
with full-width or half-width punctuation and line breaks anywhere -- and returns what it says:
the year, the source (title and, when the text has it, the document number 国办发明电〔…〕N号),
each holiday item (一、元旦：…) with its first and last day and the stated 共N天, and each
上班 day. `ParsedNotice.to_override()` gives the `plan.calendar.YearOverride` for it (the
content of plan/calendars/<year>.yaml) and `ParsedNotice.yaml_text()` that file's text.

The parser reads the notice in full or not at all: anything it cannot account for raises
`NoticeError` with one Chinese line quoting the piece -- a title without a year, a sentence
inside the numbered items it does not understand, a weekday in parentheses that is not the
date's weekday, a 共N天 that is not the range's length, a date that does not exist or lies
outside the notice's year, a 上班 day that is also a day off, a text without items. A wrong
deadline is worse than no deadline: guessing is never an option.

A 上班 day on Monday–Friday (e.g. "1月4日（周一）上班") is an ordinary working day: it is
kept in the result (`ordinary_workdays`, 本就是工作日) for the person confirming, but it is
not a make-up day and is not written to the calendar file.

Pure domain code: no I/O, no Temporal.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, computed_field

from plan.calendar import DayRange, YearOverride

__all__ = ["NoticeError", "NoticeHoliday", "NoticeWorkday", "ParsedNotice", "parse_notice", "WEEKDAYS"]

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")  # date.weekday() -> name

# The holidays a notice arranges (全国年节及纪念日放假办法); an item may join two (国庆节、中秋节).
KNOWN_HOLIDAYS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")


class NoticeError(ValueError):
    """The text cannot be read in full; the message is one Chinese line quoting the piece."""


class NoticeHoliday(BaseModel):
    """One numbered item: its days off, first..last inclusive."""

    model_config = ConfigDict(frozen=True)

    number: int  # the item's number in the notice: 一 = 1
    name: str  # 元旦, 春节, …, or "国庆节、中秋节"
    first: date
    last: date
    stated_days: int | None  # the 共N天 (or 放假N天) as printed; None when the item states none

    @computed_field
    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        return [self.first + timedelta(i) for i in range(self.days)]


class NoticeWorkday(BaseModel):
    """One 上班 day the notice lists, under the item it belongs to."""

    model_config = ConfigDict(frozen=True)

    day: date
    holiday: str  # the item's name
    makeup: bool  # True: a Saturday/Sunday made a working day (调休上班); False: Mon–Fri, 本就是工作日


class ParsedNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    year: int
    title: str  # 国务院办公厅关于2027年部分节假日安排的通知
    document_number: str | None  # 国办发明电〔2026〕N号, when the text has it
    holidays: list[NoticeHoliday]
    workdays: list[NoticeWorkday]

    @computed_field
    @property
    def source(self) -> str:
        return f"{self.title} ({self.document_number})" if self.document_number else self.title

    def makeup_days(self) -> list[NoticeWorkday]:
        """Weekend days that are working days (what the calendar file stores)."""
        return [w for w in self.workdays if w.makeup]

    def ordinary_workdays(self) -> list[NoticeWorkday]:
        """上班 days on Mon–Fri: working days anyway, reported but not stored."""
        return [w for w in self.workdays if not w.makeup]

    def holiday_dates(self) -> frozenset[date]:
        return frozenset(d for h in self.holidays for d in h.dates())

    def weekday_days_off(self) -> int:
        """Days off that fall on Monday–Friday: the working days the notice takes away."""
        return sum(1 for d in self.holiday_dates() if d.weekday() < 5)

    def to_override(self) -> YearOverride:
        return YearOverride(
            year=self.year,
            source=self.source,
            holidays=[DayRange(first=h.first, last=h.last, name=h.name) for h in self.holidays],
            # a bare date, as calendars/README.md writes make-up days; the file names the holiday in a comment
            workdays=[DayRange(first=w.day, last=w.day) for w in self.makeup_days()],
        )

    def yaml_text(self) -> str:
        """plan/calendars/<year>.yaml for this notice, in the format calendars/README.md documents.
        Strings are written as JSON strings, which are valid YAML double-quoted scalars."""
        q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
        lines = [
            f"# {self.year}年节假日安排：由 `ecoplan calendar add-year` 从通知原文读出，经人工确认后写入。",
            f"year: {self.year}",
            f"source: {q(self.source)}",
            "holidays:" + ("" if self.holidays else " []"),
            *(f"  - {{from: {h.first.isoformat()}, to: {h.last.isoformat()}, name: {q(h.name)}}}"
              f"  # 共{h.days}天" for h in self.holidays),
            "workdays:" + ("" if self.makeup_days() else " []"),
            *(f"  - {w.day.isoformat()}  # {WEEKDAYS[w.day.weekday()]}，{w.holiday}调休上班"
              for w in self.makeup_days()),
        ]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the text

# Web pages and PDFs give the same notice in half-width or full-width punctuation and digits.
# We bring it to one form -- the published one: full-width punctuation, ASCII digits -- so
# the patterns below are written once and a quoted piece reads like the notice itself.
_TO_PUBLISHED_FORM = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},  # ０-９ -> 0-9
     "(": "（", ")": "）", ":": "：", ",": "，", ";": "；", "､": "、", "｡": "。"}
)
# Chinese text has no meaningful spaces; a PDF or a web page puts line breaks and spaces
# anywhere (even inside a date), so all of them go, with the invisible ones pages carry.
_BLANKS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")

# The title fixes the year: the notice's own dates omit it ("1月1日（周五）").
TITLE = re.compile(r"国务院办公厅关于(?P<year>\d{4})年部分节假日安排的通知")
# The document number (文号). Its brackets are 〔〕 in the original; pages retype them as
# [] 【】 or （）. Recorded as 〔〕 whatever the page used.
DOCUMENT_NUMBER = re.compile(r"(?P<office>国办发(?:明电)?)[〔［\[【（](?P<year>\d{4})[〕］\]】）](?P<n>\d{1,4})号")

# An item heading: a Chinese numeral, 、, the holiday's name (one or two joined by 、), ：.
# The name is Chinese characters and 、 only, so "（农历腊月二十八、周日）" inside an item
# (numeral + 、 too) never looks like a heading: a ） or ， comes before any ：.
ITEM_HEADING = re.compile(r"(?P<number>[一二三四五六七八九十]{1,3})、(?P<name>[\u4e00-\u9fff、]{1,15}?)：")

# A day as the notice writes it: [YYYY年]M月D日, then optionally parentheses with the weekday
# and a lunar note: （周五）, （星期六）, （农历除夕、周二）. Older notices spell out the year
# when a day lies in the neighbouring year, so the year is accepted (and then checked).
DAY = r"(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:（[^（）]*）)?"
# The end of a range may omit the month, as the notice does: "1月1日（周四）至3日（周六）".
RANGE_END = r"(?:(?:\d{4}年)?\d{1,2}月)?\d{1,2}日(?:（[^（）]*）)?"
DAY_PARTS = re.compile(r"(?:(?P<year>\d{4})年)?(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日(?:（(?P<note>[^（）]*)）)?")

# The sentences an item is made of (one sentence = up to a 。):
#   days off:  "1月1日（周四）至3日（周六）放假调休，共3天" / "1月1日（周三）放假1天，不调休"
#              / older notices "1月1日放假，与周末连休"
#   work days: "2月14日（周六）、2月28日（周六）上班"
HOLIDAY_SENTENCE = re.compile(
    rf"(?P<first>{DAY})(?:至(?P<last>{RANGE_END}))?放假(?:调休)?(?:(?P<days_a>\d{{1,2}})天)?"
    r"(?:，共(?P<days_b>\d{1,2})天)?(?:，(?:不调休|与周末连休))?"
)
WORKDAY_SENTENCE = re.compile(rf"(?P<days>{DAY}(?:、{DAY})*)上班")
DAY_IN_LIST = re.compile(DAY)

# The weekday and lunar notes allowed inside a day's parentheses.
WEEKDAY = re.compile(r"(?:周|星期)(?P<name>[一二三四五六日天])")
LUNAR = re.compile(r"农历[\u4e00-\u9fff]+")

# After the last item the notice goes on with its closing paragraph ("节假日期间，各地区、各部门要
# 妥善安排好值班…"), the signature and, on a web page, anything. The last item ends at its first
# sentence that is not an item sentence -- unless that sentence still looks like an arrangement
# (it begins with a date, or speaks of 放假/上班/调休): then it is a sentence of the item we do
# not understand, and reading on would silently drop days.
LOOKS_LIKE_ARRANGEMENT = re.compile(r"^(?:\d{4}年)?\d{1,2}月\d{1,2}日|放假|上班|调休|补班")

_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九", start=1)}


def _numeral(text: str) -> int:
    """一..九十九 as an int (item numbers)."""
    if "十" not in text:
        return _NUMERALS[text] if len(text) == 1 else 0
    tens, _, ones = text.partition("十")
    return (_NUMERALS.get(tens, 0) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0)


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def _quote(piece: str, limit: int = 60) -> str:
    return f"“{piece if len(piece) <= limit else piece[:limit] + '…'}”"


def _published_form(text: str) -> str:
    return _BLANKS.sub("", text.translate(_TO_PUBLISHED_FORM))


# ---------------------------------------------------------------------------- parsing


def parse_notice(text: str) -> ParsedNotice:
    """Read the notice; raise NoticeError (one Chinese line) unless every item is understood."""
    text = _published_form(text)
    titles = {m.group("year") for m in TITLE.finditer(text)}
    if not titles:
        raise NoticeError("找不到通知标题“国务院办公厅关于XXXX年部分节假日安排的通知”，无法确定年份"
                          f"（文本开头：{_quote(text, 30) if text else '空'}）")
    if len(titles) > 1:
        raise NoticeError(f"文本里有不同年份的通知标题（{'、'.join(sorted(titles))}年），请只粘贴一份通知")
    title_match = TITLE.search(text)
    year = int(title_match.group("year"))
    body = text[title_match.end():]
    headings = list(ITEM_HEADING.finditer(body))
    if not headings:
        raise NoticeError(f"{year}年的通知里找不到放假安排条目（应有“一、元旦：……”这样的条目）")
    # The document number stands under the title, or above it in a page's 发文字号 field;
    # never after the items, where a web page may cite other documents.
    number = DOCUMENT_NUMBER.search(text, 0, title_match.end() + headings[0].start())
    document_number = (f"{number.group('office')}〔{number.group('year')}〕{number.group('n')}号" if number else None)

    holidays: list[NoticeHoliday] = []
    workdays: list[NoticeWorkday] = []
    written: dict[date, str] = {}  # each 上班 day as the notice writes it, to quote it back
    for i, heading in enumerate(headings):
        expected = i + 1
        if _numeral(heading.group("number")) != expected:
            raise NoticeError(f"条目编号不连续：应是“{_chinese_number(expected)}、”，却读到{_quote(heading.group(0))}")
        name = heading.group("name")
        unknown = [part for part in name.split("、") if part not in KNOWN_HOLIDAYS]
        if unknown:
            raise NoticeError(f"不认识的节日名称{_quote(unknown[0])}（条目{_quote(heading.group(0))}）")
        last_item = i == len(headings) - 1
        end = len(body) if last_item else headings[i + 1].start()
        sentences = [s for s in body[heading.end():end].split("。") if s]
        days_off_before = len(holidays)
        for sentence in sentences:
            if (h := HOLIDAY_SENTENCE.fullmatch(sentence)):
                holidays.append(_holiday(h, expected, name, year, sentence))
            elif (w := WORKDAY_SENTENCE.fullmatch(sentence)):
                for piece in DAY_IN_LIST.finditer(w.group("days")):
                    workdays.append(_workday(piece.group(0), name, year, sentence))
                    written[workdays[-1].day] = piece.group(0)
            elif last_item and not LOOKS_LIKE_ARRANGEMENT.search(sentence):
                break  # the closing paragraph: the items are over
            else:
                raise NoticeError(f"看不懂{name}条目里的这一句：{_quote(sentence)}")
        if len(holidays) == days_off_before:
            raise NoticeError(f"条目{_quote(heading.group(0))}没有说放假日期")

    off = {d: h.name for h in holidays for d in h.dates()}
    for w in workdays:
        if w.day in off:
            raise NoticeError(f"{_quote(written[w.day] + '上班')}：这一天已列为{off[w.day]}的放假日，不能又是上班日")
    return ParsedNotice(year=year, title=title_match.group(0), document_number=document_number,
                        holidays=holidays, workdays=workdays)


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _day(piece: str, year: int, sentence: str, after: date | None = None) -> date:
    """A day of the notice as a date: its year and month default to the notice's year and, for the
    end of a range, to the range's first day; a weekday in parentheses must be the date's."""
    parts = DAY_PARTS.fullmatch(piece)
    y = int(parts.group("year") or (after.year if after else year))
    m = int(parts.group("month") or after.month)  # a day without a month is only ever a range's end
    d = int(parts.group("day"))
    written = f"{parts.group('year') + '年' if parts.group('year') else ''}{m}月{d}日"
    try:
        day = date(y, m, d)
    except ValueError:
        raise NoticeError(f"{_quote(piece)}：{y}年没有{m}月{d}日这一天（见{_quote(sentence)}）") from None
    if day.year != year:
        raise NoticeError(f"{_quote(piece)}：{day.year}年{_md(day)}不在{year}年内（这是{year}年的通知）")
    for note in (n for n in re.split(r"[、，]", parts.group("note") or "") if n):
        weekday = WEEKDAY.fullmatch(note)
        if weekday:
            named = "一二三四五六日天".index(weekday.group("name"))
            if min(named, 6) != day.weekday():
                raise NoticeError(f"{_quote(piece)}：{year}年{written}是{WEEKDAYS[day.weekday()]}，不是{note}")
        elif not LUNAR.fullmatch(note):
            raise NoticeError(f"{_quote(piece)}：括号里的{_quote(note)}看不懂（只认周X/星期X和农历日期）")
    return day


def _holiday(match: re.Match, number: int, name: str, year: int, sentence: str) -> NoticeHoliday:
    first = _day(match.group("first"), year, sentence)
    last = _day(match.group("last"), year, sentence, after=first) if match.group("last") else first
    if last < first:
        raise NoticeError(f"{_quote(sentence)}：结束日期{_md(last)}早于开始日期{_md(first)}")
    length = (last - first).days + 1
    stated = [int(n) for n in (match.group("days_a"), match.group("days_b")) if n]
    for n in stated:
        if n != length:
            raise NoticeError(f"{_quote(sentence)}：{_md(first)}至{_md(last)}是{length}天，不是{n}天")
    return NoticeHoliday(number=number, name=name, first=first, last=last, stated_days=stated[-1] if stated else None)


def _workday(piece: str, name: str, year: int, sentence: str) -> NoticeWorkday:
    day = _day(piece, year, sentence)
    return NoticeWorkday(day=day, holiday=name, makeup=day.weekday() >= 5)
