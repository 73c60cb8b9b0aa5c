"""Class groups of the stages: many (> 100), medium (20-100), few (< 20) and the variants."""
import pytest

from lt_det.data.class_groups import group_of_class, shot_groups, stage_groups

# class:   0    1   2   3   4  5   6
COUNTS = [500, 101, 100, 50, 49, 20, 19]


def test_shot_groups_thresholds():
    many, medium, few = shot_groups(COUNTS)
    assert many.classes == (0, 1)  # > 100
    assert medium.classes == (2, 3, 4, 5)  # 20..100 inclusive
    assert few.classes == (6,)  # < 20
    # Configurable thresholds: many >= 50, few <= 20.
    many, medium, few = shot_groups(COUNTS, many_min=50, few_max=20)
    assert (many.classes, medium.classes, few.classes) == ((0, 1, 2, 3), (4,), (5, 6))


def test_stage_variants():
    names = lambda gs: [(g.name, g.classes) for g in gs]  # noqa: E731
    assert names(stage_groups(COUNTS, 2)) == [("many", (0, 1)), ("few", (2, 3, 4, 5, 6))]
    assert names(stage_groups(COUNTS, 3)) == [("many", (0, 1)), ("medium", (2, 3, 4, 5)), ("few", (6,))]
    # 4 stages: medium-high 50-100, medium-low 20-49.
    assert names(stage_groups(COUNTS, 4)) == [
        ("many", (0, 1)), ("medium_high", (2, 3)), ("medium_low", (4, 5)), ("few", (6,))]
    assert names(stage_groups(COUNTS, 3, reverse=True)) == [("few", (6,)), ("medium", (2, 3, 4, 5)), ("many", (0, 1))]


def test_group_of_class_and_errors():
    assert list(group_of_class(stage_groups(COUNTS, 3), 7)) == [0, 0, 1, 1, 1, 1, 2]
    with pytest.raises(ValueError, match="num_stages"):
        stage_groups(COUNTS, 5)
    with pytest.raises(ValueError, match="few_max"):
        shot_groups(COUNTS, many_min=10, few_max=20)
    # A set without many-shot classes yields an empty group (the hook rejects it).
    assert stage_groups([5, 30], 3)[0].classes == ()
