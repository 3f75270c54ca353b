import numpy as np
import pytest

from explorer.core.maps.colouring import CONTINUOUS_LEVELS, NO_VALUE, colour_by, uniform, viridis
from explorer.core.maps.search import SearchError, search

NAMES = ("smiling", "hat", "head_x")
LABELS = np.array([[1, 0, 0.1], [0, 1, 0.9], [1, 1, 0.5], [0, 0, 0.7]], np.float32)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("2", [2]),
        ("1-2", [1, 2]),
        ("smiling=1", [0, 2]),
        ("smiling", [0, 2]),
        ("smiling=1 hat=1", [2]),
        ("smiling = 1, hat", [2]),
        ("head_x>0.6", [1, 3]),
        ("head_x <= 0.5", [0, 2]),
        ("hat!=1", [0, 3]),
    ],
)
def test_search_queries(query, expected):
    mask = search(query, 4, LABELS, NAMES)
    assert np.flatnonzero(mask).tolist() == expected


def test_empty_query_clears_the_search():
    assert search("   ", 4, LABELS, NAMES) is None


@pytest.mark.parametrize(
    "query, message",
    [
        ("9", "index 9 is out of range: the dataset has 4 points"),
        ("glasses=1", "no label called 'glasses' (labels: smiling, hat, head_x)"),
        ("smiling~1", "cannot read 'smiling~1'"),
    ],
)
def test_bad_queries_say_why(query, message):
    with pytest.raises(SearchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        search(query, 4, LABELS, NAMES)


def test_binary_label_gives_two_categories_with_a_legend():
    c = colour_by(np.array([0, 1, 1, 0, 1.0]), "smiling")
    assert not c.continuous
    assert c.groups.tolist() == [0, 1, 1, 0, 1]
    assert c.names == ("smiling = 0", "smiling = 1")
    assert len(set(c.colours)) == 2


@pytest.mark.parametrize("rare_values", [1, 11, 12])
def test_a_label_whose_rarest_values_a_sample_misses_is_still_categorical(rare_values):
    """Counting distinct values samples first (fast at a million points); a value no sample
    saw still gets its category, and one too many makes the colouring continuous."""
    values = np.zeros(1_000_003)
    rare = np.arange(1, rare_values + 1, dtype=float)
    values[1 + 4096 * np.arange(rare_values) + 7] = rare  # off the sample's stride
    c = colour_by(values, "label")
    categories = rare_values + 1
    if categories <= 12:
        assert not c.continuous and len(c.colours) == categories
        assert np.bincount(c.groups).tolist() == [len(values) - rare_values] + [1] * rare_values
    else:
        assert c.continuous


def test_points_without_a_value_get_a_grey_group_of_their_own():
    nan = np.nan
    c = colour_by(np.array([0, 1, nan, 1.0]), "smiling")  # a label with an empty cell
    assert c.missing and not c.continuous and c.groups.tolist() == [0, 1, 2, 1]
    assert c.names == ("smiling = 0", "smiling = 1", "smiling: no value") and c.colours[2] == NO_VALUE
    none = colour_by(np.full(5, nan), "empty")  # a column with no value at all
    assert none.groups.tolist() == [0] * 5 and none.names == ("empty: no value",)
    values = np.linspace(0, 10, 1001)
    values[[3, 500]] = nan
    many = colour_by(values, "head_x")
    assert many.continuous and many.missing and len(many.colours) == CONTINUOUS_LEVELS + 1
    assert many.groups[3] == many.groups[500] == CONTINUOUS_LEVELS and many.groups.max() == CONTINUOUS_LEVELS
    assert many.groups[:3].tolist() == [0, 0, 0]  # its neighbours keep their levels


def test_continuous_values_are_quantised_onto_the_colour_map():
    values = np.linspace(0, 10, 1001)
    c = colour_by(values, "head_x")
    assert c.continuous and len(c.colours) == CONTINUOUS_LEVELS
    assert c.value_range == pytest.approx((0.1, 9.9))
    assert c.groups[0] == 0 and c.groups[-1] == CONTINUOUS_LEVELS - 1
    assert np.all(np.diff(c.groups) >= 0)  # order kept
    assert c.colours[0] == tuple(int(v) for v in viridis(np.array([0.5 / CONTINUOUS_LEVELS]))[0].round())


def test_uniform_colouring():
    c = uniform(3)
    assert c.groups.tolist() == [0, 0, 0] and len(c.colours) == 1
