"""tests/numeric.py: nested metadata compared within per-key tolerances, everything else exactly."""
import pytest

from numeric import assert_tree_close, close, tree_differences

TABLE = {"levels": [0, 5, 10], "thresholds": [0.1272, 0.5, 0.9], "named_right": [0.5402, 0.3, 0.0],
         "data": "TotalCapture", "source": "cameras", "lr": 0.002}
TOL = {"thresholds": 1e-4, "named_right": 0.0022}


def test_numbers_within_their_tolerance_pass_and_one_rounding_step_is_within_one_step():
    again = {**TABLE, "thresholds": [0.1273, 0.5, 0.9], "named_right": [0.54, 0.3, 0.0]}
    assert tree_differences(again, TABLE, TOL) == []
    assert close(0.5402, 0.5401, 1e-4) and not close(0.5403, 0.5401, 1e-4)


def test_a_number_beyond_its_tolerance_is_named_with_its_path_and_size():
    again = {**TABLE, "named_right": [0.5402, 0.31, 0.0]}
    (diff,) = tree_differences({"metrics": again}, {"metrics": TABLE}, {"metrics." + k: v for k, v in TOL.items()})
    assert diff.startswith("metrics.named_right[1]: 0.31 != 0.3") and "tolerance 0.0022" in diff
    with pytest.raises(AssertionError, match=r"file\.pt: 1 difference"):
        assert_tree_close({"metrics": again}, {"metrics": TABLE}, {"metrics." + k: v for k, v in TOL.items()}, "file.pt")


@pytest.mark.parametrize("change", [{"levels": [0, 5, 11]}, {"source": "kinect"}, {"lr": 0.0020000001},
                                    {"levels": [0, 5]}, {"extra": 1}])
def test_copied_values_strings_ints_and_unlisted_floats_must_be_equal(change):
    assert tree_differences({**TABLE, **change}, TABLE, TOL)


def test_a_missing_key_and_a_tolerance_that_names_nothing_are_differences():
    assert tree_differences({k: v for k, v in TABLE.items() if k != "data"}, TABLE, TOL) == ["data: missing"]
    assert tree_differences(TABLE, TABLE, {**TOL, "tresholds": 1e-4}) == [
        "tresholds: tolerance given for a path that holds no number"]
