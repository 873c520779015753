"""Grading by 附表1: thresholds on both sides, categorical rows, several criteria, bad input."""

import pytest
from pydantic import ValidationError

from plan.grading import VALUE_NAMES, Assessment, Grading, classify, validation_message
from plan.problems import LABELS
from plan.loader import load_plan
from plan.models import Level


@pytest.fixture(scope="module")
def plan():
    return load_plan().plan


# (field, value, expected level): at each bound (以上含本数) and one below it (以下不含本数).
NUMERIC_CASES = [
    ("deaths", 30, "I"), ("deaths", 29, "II"),
    ("deaths", 10, "II"), ("deaths", 9, "III"),
    ("deaths", 3, "III"), ("deaths", 2, "IV"),
    ("deaths", 1, "IV"),
    ("poisoned_or_injured", 100, "I"), ("poisoned_or_injured", 99, "II"),
    ("poisoned_or_injured", 50, "II"), ("poisoned_or_injured", 49, "III"),
    ("poisoned_or_injured", 10, "III"), ("poisoned_or_injured", 9, "IV"),
    ("poisoned_or_injured", 1, "IV"),
    ("evacuated", 50_000, "I"), ("evacuated", 49_999, "II"),
    ("evacuated", 10_000, "II"), ("evacuated", 9_999, "III"),
    ("evacuated", 5_000, "III"), ("evacuated", 4_999, "IV"),
    ("evacuated", 1, "IV"),
    ("direct_loss_yuan", 100_000_000, "I"), ("direct_loss_yuan", 99_999_999, "II"),
    ("direct_loss_yuan", 20_000_000, "II"), ("direct_loss_yuan", 19_999_999, "III"),
    ("direct_loss_yuan", 5_000_000, "III"), ("direct_loss_yuan", 4_999_999, "IV"),
    ("direct_loss_yuan", 0.5, "IV"),
]


@pytest.mark.parametrize(("field", "value", "level"), NUMERIC_CASES)
def test_numeric_thresholds(plan, field, value, level):
    g = classify(Assessment(**{field: value}), plan)
    assert g.level == Level(level)
    assert g.level_name == plan.level(level).name
    assert len(g.reasons) == 1
    assert f"({level}) " in g.reasons[0]
    assert g.reasons[0].endswith(f"（{SHOWN[field]}：{shown(field, value)}）")


SHOWN = {**LABELS, "direct_loss_yuan": "直接经济损失"}


def shown(field: str, value) -> str:
    """A value as a reason shows it: persons, or yuan in 万元/亿元 (附表1's units)."""
    if isinstance(value, str):
        return VALUE_NAMES[field][value]
    if field != "direct_loss_yuan":
        return f"{value}人"
    return f"{value / 1e8:g}亿元" if value >= 1e8 else f"{value / 1e4:g}万元" if value >= 1e4 else f"{value:g}元"


def test_reason_format(plan):
    g = classify(Assessment(direct_loss_yuan=5_000_000), plan)
    assert g.reasons == [
        "附表1 较大(III) 3：因环境污染造成直接经济损失500万元以上2000万元以下（直接经济损失：500万元）"
    ]


@pytest.mark.parametrize("field", ["deaths", "poisoned_or_injured", "evacuated", "direct_loss_yuan"])
def test_zero_is_nothing_reported(plan, field):
    g = classify(Assessment(**{field: 0}), plan)
    assert g.level == Level.IV
    assert g.reasons == [plan.grading.default_reason]


@pytest.mark.parametrize(
    ("field", "value", "level", "item"),
    [
        ("drinking_water_interrupted", "city", "I", "附表1 特别重大(I) 5"),
        ("drinking_water_interrupted", "county", "II", "附表1 重大(II) 5"),
        ("drinking_water_interrupted", "township", "III", "附表1 较大(III) 5"),
        ("ecological_impact", "function_loss_or_extinction", "I", "附表1 特别重大(I) 4"),
        ("ecological_impact", "partial_function_loss", "II", "附表1 重大(II) 4"),
        ("ecological_impact", "protected_species_damaged", "III", "附表1 较大(III) 4"),
        ("cross_boundary", "province", "II", "附表1 重大(II) 6"),
        ("cross_boundary", "city", "III", "附表1 较大(III) 6"),
        ("cross_boundary", "county_dispute", "IV", "附表1 一般(IV) 4"),
    ],
)
def test_categorical(plan, field, value, level, item):
    g = classify(Assessment(**{field: value}), plan)
    assert g.level == Level(level)
    assert len(g.reasons) == 1
    assert g.reasons[0].startswith(item + "：")
    assert g.reasons[0].endswith(f"（{SHOWN[field]}：{shown(field, value)}）")


@pytest.mark.parametrize("field", ["drinking_water_interrupted", "ecological_impact", "cross_boundary"])
def test_categorical_none(plan, field):
    g = classify(Assessment(**{field: "none"}), plan)
    assert (g.level, g.reasons) == (Level.IV, [plan.grading.default_reason])


def test_several_criteria_highest_wins_all_listed(plan):
    a = Assessment(
        deaths=4, evacuated=12_000, direct_loss_yuan=1_000, cross_boundary="county_dispute",
        drinking_water_interrupted="township",
    )
    g = classify(a, plan)
    assert g.level == Level.II
    assert [r.split("：")[0] for r in g.reasons] == [
        "附表1 重大(II) 2",  # evacuated
        "附表1 较大(III) 1",  # deaths
        "附表1 较大(III) 5",  # drinking water
        "附表1 一般(IV) 3",  # loss
        "附表1 一般(IV) 4",  # cross boundary
    ]


def test_nothing_reported(plan):
    g = classify(Assessment(), plan)
    assert g == Grading(level=Level.IV, level_name="一般", reasons=[plan.grading.default_reason])
    assert g.reasons[0].startswith("附表1 一般(IV) 5")
    assert "尚未达到较大" in g.reasons[0]


def test_default_plan_used_when_none_given():
    assert classify(Assessment(deaths=3)).level == Level.III


def test_grading_follows_plan_data(plan):
    # Move III's deaths bound from 3 to 5 (and IV's accordingly): grading must follow.
    criteria = [
        c.model_copy(update={"at_least": 5}) if (c.level, c.field) == (Level.III, "deaths")
        else c.model_copy(update={"below": 5}) if (c.level, c.field) == (Level.IV, "deaths")
        else c
        for c in plan.grading.criteria
    ]
    edited = plan.model_copy(update={"grading": plan.grading.model_copy(update={"criteria": criteria})})
    assert classify(Assessment(deaths=4), edited).level == Level.IV
    assert classify(Assessment(deaths=4), plan).level == Level.III


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"deaths": -1}, "deaths"),
        ({"deaths": 2.5}, "deaths"),
        ({"deaths": "3"}, "deaths"),
        ({"deaths": True}, "deaths"),
        ({"poisoned_or_injured": 2.0}, "poisoned_or_injured"),
        ({"evacuated": 100_000_001}, "evacuated"),
        ({"direct_loss_yuan": -0.01}, "direct_loss_yuan"),
        ({"direct_loss_yuan": "500"}, "direct_loss_yuan"),
        ({"direct_loss_yuan": True}, "direct_loss_yuan"),
        ({"direct_loss_yuan": float("inf")}, "direct_loss_yuan"),
        ({"drinking_water_interrupted": "province"}, "drinking_water_interrupted"),
        ({"cross_boundary": "town"}, "cross_boundary"),
        ({"ecological_impact": None}, "ecological_impact"),
        ({"injured": 3}, "injured"),
    ],
)
def test_invalid_input(data, field):
    with pytest.raises(ValidationError) as info:
        Assessment(**data)
    msg = validation_message(info.value)
    # the field as the form names it; a key the assessment has not, as typed
    assert msg.startswith(LABELS[field]) if field in Assessment.model_fields else f"「{field}」" in msg, msg
    assert "\n" not in msg


def test_validation_message_prefix_and_count():
    with pytest.raises(ValidationError) as info:
        Assessment(deaths=-1, evacuated="x", bogus=1)
    msg = validation_message(info.value, prefix="assessment: ")
    assert msg.startswith("assessment: 死亡人数不能为负数")
    assert msg.endswith("（另有 2 处有误）")
    assert "\n" not in msg


def test_int_loss_accepted():
    assert Assessment(direct_loss_yuan=5_000_000).direct_loss_yuan == 5_000_000
