"""Labels beside their points, none on another: pure geometry, no Qt."""

import numpy as np

from explorer.qt.label_placement import place_labels


def _boxes(corners, sizes):
    return np.concatenate([corners, corners + sizes], 1)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_labels_at_one_point_fan_out_without_overlapping_each_other_or_the_pin():
    anchors = np.array([[100.0, 100.0]] * 5) + np.random.default_rng(0).normal(0, 2, (5, 2))
    sizes = np.array([[60, 16], [45, 16], [80, 16], [30, 16], [55, 16]], float)
    pin = np.array([90.0, 90.0, 110.0, 110.0])
    boxes = _boxes(place_labels(anchors, sizes, np.array([100.0, 100.0]), [pin]), sizes)
    for i in range(5):
        assert not _overlaps(boxes[i], pin)
        for j in range(i):
            assert not _overlaps(boxes[i], boxes[j]), (i, j)


def test_a_label_goes_outward_from_the_origin_when_there_is_room():
    corners = place_labels(np.array([[200.0, 100.0]]), np.array([[40.0, 10.0]]), np.array([100.0, 100.0]))
    assert corners[0, 0] > 200  # to the right of a tip that points right
    assert corners[0, 1] < 100 < corners[0, 1] + 10  # level with it


def test_labels_stay_inside_the_view():
    bounds = (0, 0, 300, 200)
    corners = place_labels(
        np.array([[295.0, 100.0]]), np.array([[80.0, 14.0]]), np.array([150.0, 100.0]), bounds=bounds
    )
    x, y = corners[0]
    assert 0 <= x and x + 80 <= 300 and 0 <= y and y + 14 <= 200
