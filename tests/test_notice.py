"""Reading the State Council's holiday notice (plan/notice.py), no server needed.

The 2025 and 2026 notices are the published texts (2025 as on gov.cn, with its document
number; 2026 as Xinhua released it, without one). The parse is checked two ways: against
dates written out here by hand from the notice, and independently, day by day, against the
`chinese_calendar` package, which ships both years. Every refusal has its own bad input.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import chinese_calendar
import pytest
import yaml

from plan.calendar import YearOverride, load_calendar
from plan.notice import NoticeError, ParsedNotice, parse_notice

D = date

NOTICE_2025 = """\
国务院办公厅关于2025年部分节假日安排的通知
国办发明电〔2024〕12号

各省、自治区、直辖市人民政府，国务院各部委、各直属机构：

　　经党中央、国务院批准，根据2024年11月修订的《全国年节及纪念日放假办法》，自2025年1月1日起，全体公民放假的假日增加2天，其中春节、劳动节各增加1天。据此对放假调休原则作进一步优化完善，除个别特殊情形外，春节自农历除夕起放假调休8天，国庆节自10月1日起放假调休7天，劳动节放假调休5天，元旦、清明节、端午节、中秋节分别放假调休或连休3天（如逢周三则只在当日放假），国庆节放假如逢中秋节则合并放假8天。

　　按照上述原则，现将2025年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。

　　一、元旦：1月1日（周三）放假1天，不调休。

　　二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。

　　三、清明节：4月4日（周五）至6日（周日）放假，共3天。

　　四、劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。

　　五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。

　　六、国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。

　　节假日期间，各地区、各部门要妥善安排好值班和安全、保卫、疫情防控等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。

国务院办公厅
2024年11月12日
"""

NOTICE_2026 = """\
　　新华社北京11月4日电　国务院办公厅关于2026年部分节假日安排的通知，全文如下：

各省、自治区、直辖市人民政府，国务院各部委、各直属机构：

　　经国务院批准，现将2026年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。

　　一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。

　　二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。

　　三、清明节：4月4日（周六）至6日（周一）放假，共3天。

　　四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。

　　五、端午节：6月19日（周五）至21日（周日）放假，共3天。

　　六、中秋节：9月25日（周五）至27日（周日）放假，共3天。

　　七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。

　　鼓励单位和个人结合落实带薪年休假等制度，实际形成较长假期，推动错峰出行。节假日期间，各地区、各部门要妥善安排好值班和安全、保卫、疫情防控等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。

　　国务院办公厅

　　2025年11月4日
"""

TITLE_2027 = "国务院办公厅关于2027年部分节假日安排的通知\n"
# 1 Jan 2027 is a Friday; 4 Jan 2027 a Monday.
EXAMPLE_2027 = TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。1月4日（周一）上班。"


def holidays(p: ParsedNotice) -> list[tuple]:
    return [(h.name, h.first, h.last, h.stated_days) for h in p.holidays]


def workdays(p: ParsedNotice) -> list[tuple]:
    return [(w.day, w.holiday, w.makeup) for w in p.workdays]


def working_by_override(ov: YearOverride, d: date) -> bool:
    return d in ov.workday_dates() or (d.weekday() < 5 and d not in ov.holiday_dates())


def every_day(year: int):
    d = D(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


def refused(text: str) -> str:
    with pytest.raises(NoticeError) as e:
        parse_notice(text)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert "\n" not in msg and re.search(r"[\u4e00-\u9fff]", msg), msg
    return msg


# ---------------------------------------------------------------------------- the published notices


def test_2025_as_published():
    p = parse_notice(NOTICE_2025)
    assert p.year == 2025
    assert p.title == "国务院办公厅关于2025年部分节假日安排的通知"
    assert p.document_number == "国办发明电〔2024〕12号"
    assert p.source == "国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号)"
    assert holidays(p) == [
        ("元旦", D(2025, 1, 1), D(2025, 1, 1), 1),
        ("春节", D(2025, 1, 28), D(2025, 2, 4), 8),
        ("清明节", D(2025, 4, 4), D(2025, 4, 6), 3),
        ("劳动节", D(2025, 5, 1), D(2025, 5, 5), 5),
        ("端午节", D(2025, 5, 31), D(2025, 6, 2), 3),
        ("国庆节、中秋节", D(2025, 10, 1), D(2025, 10, 8), 8),
    ]
    assert workdays(p) == [
        (D(2025, 1, 26), "春节", True),
        (D(2025, 2, 8), "春节", True),
        (D(2025, 4, 27), "劳动节", True),
        (D(2025, 9, 28), "国庆节、中秋节", True),
        (D(2025, 10, 11), "国庆节、中秋节", True),
    ]
    # Mon–Fri days off: 1/1; 1/28–1/31, 2/3, 2/4; 4/4; 5/1, 5/2, 5/5; 6/2; 10/1–10/3, 10/6–10/8.
    assert p.weekday_days_off() == 1 + 6 + 1 + 3 + 1 + 6


def test_2026_as_published_by_xinhua():
    p = parse_notice(NOTICE_2026)
    assert p.year == 2026 and p.document_number is None
    assert p.source == "国务院办公厅关于2026年部分节假日安排的通知"
    assert holidays(p) == [
        ("元旦", D(2026, 1, 1), D(2026, 1, 3), 3),
        ("春节", D(2026, 2, 15), D(2026, 2, 23), 9),
        ("清明节", D(2026, 4, 4), D(2026, 4, 6), 3),
        ("劳动节", D(2026, 5, 1), D(2026, 5, 5), 5),
        ("端午节", D(2026, 6, 19), D(2026, 6, 21), 3),
        ("中秋节", D(2026, 9, 25), D(2026, 9, 27), 3),
        ("国庆节", D(2026, 10, 1), D(2026, 10, 7), 7),
    ]
    assert workdays(p) == [
        (D(2026, 1, 4), "元旦", True),
        (D(2026, 2, 14), "春节", True),
        (D(2026, 2, 28), "春节", True),
        (D(2026, 5, 9), "劳动节", True),
        (D(2026, 9, 20), "国庆节", True),
        (D(2026, 10, 10), "国庆节", True),
    ]


@pytest.mark.parametrize("year,text", [(2025, NOTICE_2025), (2026, NOTICE_2026)])
def test_every_day_agrees_with_chinese_calendar(year, text):
    ov = parse_notice(text).to_override()
    assert ov.year == year
    wrong = [d for d in every_day(year) if working_by_override(ov, d) != chinese_calendar.is_workday(d)]
    assert wrong == []


@pytest.mark.parametrize("year,text", [(2025, NOTICE_2025), (2026, NOTICE_2026)])
def test_the_yaml_file_loads_and_gives_the_same_days(tmp_path, year, text):
    p = parse_notice(text)
    (tmp_path / f"{year}.yaml").write_text(p.yaml_text(), encoding="utf-8")
    cal = load_calendar([tmp_path])
    assert YearOverride.model_validate(yaml.safe_load(p.yaml_text())) == p.to_override()
    assert all(cal.is_working_day(d) == (chinese_calendar.is_workday(d), False) for d in every_day(year))
    assert cal.describe()["sources"] == {str(year): p.source}


def test_half_width_punctuation_and_broken_lines_read_the_same():
    # As a page that retypes punctuation gives it, and as a PDF paste breaks it: lines broken
    # inside dates and words, spaces and full-width digits here and there.
    half = NOTICE_2026.translate(str.maketrans({"（": "(", "）": ")", "：": ":", "，": ","}))
    assert "(周四)" in half
    broken = (half.replace("10月1日", "10\n月 1日").replace("放假调休", "放假\r\n调休")
              .replace("共9天", "共 ９ 天").replace("部分节假日", "部分\n节假日"))
    assert parse_notice(broken) == parse_notice(NOTICE_2026)
    assert parse_notice(NOTICE_2025.replace("〔2024〕", "[2024]")).document_number == "国办发明电〔2024〕12号"


def test_end_date_may_repeat_the_month():
    text = NOTICE_2025.replace("10月1日（周三）至8日（周三）", "10月1日（周三）至10月8日（周三）")
    assert "至10月8日" in text
    assert parse_notice(text) == parse_notice(NOTICE_2025)
    p = parse_notice(TITLE_2027 + "一、国庆节、中秋节：9月25日（周六）至10月1日（周五）放假，共7天。")
    assert holidays(p) == [("国庆节、中秋节", D(2027, 9, 25), D(2027, 10, 1), 7)]


def test_the_2027_example_with_a_weekday_shangban():
    p = parse_notice(EXAMPLE_2027)
    assert p.year == 2027
    assert holidays(p) == [("元旦", D(2027, 1, 1), D(2027, 1, 3), 3)]
    # 4 Jan 2027 is a Monday: a working day anyway, reported, not a make-up day.
    assert workdays(p) == [(D(2027, 1, 4), "元旦", False)]
    assert [w.day for w in p.ordinary_workdays()] == [D(2027, 1, 4)] and p.makeup_days() == []
    ov = p.to_override()
    assert ov.holiday_dates() == {D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 3)}
    assert ov.workday_dates() == frozenset()
    assert p.weekday_days_off() == 1  # only Fri 1 Jan


def test_single_day_item_and_weekday_spelled_xingqi():
    p = parse_notice(TITLE_2027 + "一、元旦：1月1日（星期五）放假1天，不调休。")
    assert holidays(p) == [("元旦", D(2027, 1, 1), D(2027, 1, 1), 1)]


# ---------------------------------------------------------------------------- refusals


def test_refuses_without_a_year_in_the_title():
    msg = refused("国务院办公厅关于部分节假日安排的通知\n一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。")
    assert "年份" in msg and "国务院办公厅关于部分节假日" in msg


def test_refuses_a_sentence_it_does_not_understand_inside_an_item():
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。具体另行通知。"
                  "二、春节：2月6日（周六）至12日（周五）放假调休，共7天。")
    assert "看不懂" in msg and "“具体另行通知”" in msg


def test_refuses_a_sentence_it_does_not_understand_in_the_last_item():
    # The last item ends where the closing paragraph begins; a sentence that still speaks of
    # days is not a closing paragraph.
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。1月9日（周六）补班。"
                  "节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作。")
    assert "看不懂" in msg and "“1月9日（周六）补班”" in msg


def test_the_closing_paragraph_is_ignored():
    p = parse_notice(EXAMPLE_2027 + "节假日期间，各地区、各部门要妥善安排好值班和安全、保卫、疫情防控等工作。"
                     "国务院办公厅 2026年11月4日")
    assert holidays(p) == [("元旦", D(2027, 1, 1), D(2027, 1, 3), 3)]


def test_refuses_a_weekday_that_is_not_the_dates():
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。")
    assert "“1月1日（周四）”" in msg and "周五" in msg
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。1月9日（星期日）上班。")
    assert "“1月9日（星期日）”" in msg and "周六" in msg


def test_refuses_a_count_that_is_not_the_ranges_length():
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共4天。")
    assert "共4天" in msg and "3天" in msg


def test_refuses_a_date_that_does_not_exist():
    msg = refused(TITLE_2027 + "一、春节：2月22日（周一）至29日（周一）放假调休，共8天。")
    assert "“29日（周一）”" in msg and "2月29日" in msg


def test_refuses_a_date_outside_the_notices_year():
    msg = refused(TITLE_2027 + "一、元旦：2026年12月31日（周四）至2027年1月1日（周五）放假，共2天。")
    assert "“2026年12月31日（周四）”" in msg and "2027年" in msg


def test_refuses_a_shangban_day_that_is_also_a_day_off():
    msg = refused(TITLE_2027 + "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。1月2日（周六）上班。")
    assert "“1月2日（周六）上班”" in msg and "元旦" in msg and "放假日" in msg


def test_refuses_a_text_without_items():
    msg = refused(TITLE_2027 + "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：经国务院批准，现将安排通知如下。")
    assert "条目" in msg and "2027" in msg
