"""Input validation and instance files (docs/problem.md): every rejection names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from exactrelu import (
    InstanceFileError,
    InvalidInputError,
    Problem,
    load_instance,
    save_instance,
)
from exactrelu.solve import solve

X3 = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
Y3 = np.array([1.0, -1.0, 1.0])


# ----------------------------------------------------------------------------------------
# arrays and problem options
# ----------------------------------------------------------------------------------------

ARRAY_CASES = [
    # (X, y, pattern the message must contain)
    (np.ones(3), Y3, r"X must be 2-D.*\(3,\)"),
    (np.ones((3, 2, 1)), Y3, r"X must be 2-D"),
    (np.ones((0, 2)), np.ones(0), r"no samples"),
    (np.ones((3, 0)), Y3, r"no features"),
    (X3, np.ones(4), r"y has 4 entries but X has 3 rows"),
    (X3, np.ones((3, 2)), r"y must be 1-D"),
    (np.where([[0, 0], [0, 1], [0, 0]], np.nan, X3), Y3, r"non-finite.*nan.*row 2, column 2"),
    (np.where([[0, 0], [0, 0], [1, 0]], np.inf, X3), Y3, r"non-finite.*inf.*row 3, column 1"),
    (X3, np.array([1.0, np.nan, 0.0]), r"y has a non-finite value.*row 2$"),
    (X3, np.array([1.0, 0.0, -np.inf]), r"y has a non-finite value.*row 3$"),
    ([["a", "b"], ["c", "d"]], [1, 2], r"X is not numeric"),
    (X3, ["a", "b", "c"], r"y is not numeric"),
]


@pytest.mark.parametrize(("X", "y", "message"), ARRAY_CASES)
def test_bad_arrays_are_rejected(X, y, message):
    with pytest.raises(InvalidInputError, match=message):
        Problem(X, y)


@pytest.mark.parametrize("label", [0.0, 0.5, 2.0, -2.0])
def test_hinge_needs_plus_minus_one_labels(label):
    y = Y3.copy()
    y[1] = label
    with pytest.raises(InvalidInputError, match=r"hinge.*-1 or \+1.*row 2 has y = "):
        Problem(X3, y, loss="hinge")
    # the same labels are fine for the regression losses
    Problem(X3, y, loss="squared")
    Problem(X3, y, loss="absolute")


@pytest.mark.parametrize("B", [0, 0.0, -1.0, np.nan, np.inf, "two", True])
def test_weight_bound_must_be_positive_finite(B):
    with pytest.raises(InvalidInputError, match="weight bound"):
        Problem(X3, Y3, weight_bound=B)


@pytest.mark.parametrize("width", [0, -1, 1.5, "2", True])
def test_width_must_be_positive_integer(width):
    with pytest.raises(InvalidInputError, match="width"):
        Problem(X3, Y3, arch="two-layer", width=width)


def test_width_belongs_to_two_layer():
    with pytest.raises(InvalidInputError, match="width applies to two-layer"):
        Problem(X3, Y3, arch="one-node", width=2)
    assert Problem(X3, Y3, arch="one-node", width=1).width == 1


@pytest.mark.parametrize(("key", "value"), [("arch", "three-layer"), ("loss", "huber")])
def test_unknown_arch_or_loss(key, value):
    with pytest.raises(InvalidInputError, match=rf"{key} must be one of .*{value}"):
        Problem(X3, Y3, **{key: value})


def test_problem_defaults_and_cleaning():
    p = Problem([[1, 2], [3, 4]], [[1], [2]])  # ints, y as a column
    assert p.X.dtype == np.float64 and p.y.shape == (2,)
    assert (p.arch, p.width, p.loss, p.weight_bound, p.bias) == (
        "one-node",
        1,
        "squared",
        "auto",
        True,
    )
    assert (p.n, p.d) == (2, 2)
    assert Problem(X3, Y3, arch="two-layer").width == 2
    with pytest.raises(ValueError):  # arrays are frozen
        p.X[0, 0] = 5.0


@pytest.mark.parametrize("time_limit", [0, -1.0, np.nan, "soon"])
def test_time_limit_must_be_positive(time_limit):
    with pytest.raises(InvalidInputError, match="time limit"):
        solve(Problem(X3, Y3), time_limit=time_limit)


def test_solve_takes_a_problem_and_a_known_method():
    with pytest.raises(InvalidInputError, match="takes a Problem"):
        solve((X3, Y3))
    with pytest.raises(InvalidInputError, match=r"method must be auto or one of.*'magic'"):
        solve(Problem(X3, Y3), method="magic")


# ----------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InstanceFileError, match=r"nope\.csv: no such file"):
        load_instance(tmp_path / "nope.csv")


def test_unknown_suffix(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(InstanceFileError, match=r"unknown instance type '\.txt'"):
        load_instance(path)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,3\n4,oops,6\n")
    with pytest.raises(InstanceFileError, match=r"row 2 \(line 3\), column 2 \('b'\).*'oops'"):
        load_instance(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,y\n1,2,3\n4,5\n", r"row 2 \(line 3\) has 2 cells but the header has 3"),
        ("a,b,y\n", r"header row and at least one data row"),
        ("", r"empty file"),
        ("y\n1\n2\n", r"at least two columns"),
        ("a,y\n1,nan\n", r"y has a non-finite value"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_instance(path)


def test_npz_without_X_or_y(tmp_path):
    np.savez(tmp_path / "a.npz", y=Y3)
    with pytest.raises(InstanceFileError, match=r"missing array\(s\) X"):
        load_instance(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=X3)
    with pytest.raises(InstanceFileError, match=r"missing array\(s\) y"):
        load_instance(tmp_path / "b.npz")


def test_npz_that_is_not_an_archive(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(InstanceFileError, match=r"junk\.npz: not a readable \.npz"):
        load_instance(path)


def test_npz_holding_a_single_array(tmp_path):
    # np.save output renamed to .npz: np.load returns an array, not an archive
    np.save(tmp_path / "plain.npy", X3)
    (tmp_path / "plain.npy").rename(tmp_path / "plain.npz")
    with pytest.raises(InstanceFileError, match=r"plain\.npz"):
        load_instance(tmp_path / "plain.npz")


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_empty_file_says_so(tmp_path, suffix):
    path = tmp_path / f"e{suffix}"
    path.touch()
    with pytest.raises(InstanceFileError, match=rf"e\{suffix}: empty file"):
        load_instance(path)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_directory_is_not_a_missing_file(tmp_path, suffix):
    (tmp_path / f"d{suffix}").mkdir()
    with pytest.raises(InstanceFileError, match=rf"d\{suffix}: is a directory, not a file"):
        load_instance(tmp_path / f"d{suffix}")


def test_csv_without_header_is_refused_not_shortened(tmp_path):
    # 20 numeric rows: the first must not silently become the header
    rng = np.random.default_rng(0)
    rows = rng.uniform(-1, 1, size=(20, 3))
    path = tmp_path / "noheader.csv"
    np.savetxt(path, rows, delimiter=",")
    with pytest.raises(InstanceFileError, match=r"first line .* all numbers.*e\.g\. x1,x2,y$"):
        load_instance(path)
    # with a header added, all 20 rows are samples
    np.savetxt(path, rows, delimiter=",", header="a,b,y", comments="")
    instance = load_instance(path)
    assert instance.X.shape == (20, 2)
    np.testing.assert_array_equal(instance.y, rows[:, 2])


def test_csv_rows_count_from_one_after_blank_lines(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,y\n\n1,2\n\n3,x\n")
    with pytest.raises(InstanceFileError, match=r"row 2 \(line 5\), column 2 \('y'\).*'x'"):
        load_instance(path)


@pytest.mark.parametrize("which", ["X", "y"])
def test_complex_values_are_refused(tmp_path, which, recwarn):
    X, y = X3.astype(complex), Y3.astype(complex)
    if which == "X":
        X[2, 1] += 0.5j
    else:
        y[1] += 2j
    where = "row 3, column 2" if which == "X" else "row 2"
    with pytest.raises(InvalidInputError, match=rf"{which} has complex values \(at {where}: "):
        Problem(X, y)
    np.savez(tmp_path / "c.npz", X=X, y=y)
    with pytest.raises(InvalidInputError, match=rf"c\.npz: {which} has complex values"):
        load_instance(tmp_path / "c.npz")
    assert not [w for w in recwarn if "complex" in str(w.message).lower()]
    # complex arrays whose imaginary parts are all 0 lose nothing and are accepted
    problem = Problem(X3.astype(complex), Y3.astype(complex))
    np.testing.assert_array_equal(problem.X, X3)


def test_messages_show_plain_numbers_not_numpy_reprs():
    with pytest.raises(InvalidInputError) as info:
        Problem(X3, Y3, weight_bound=np.float64(-1.0))
    assert "np.float64" not in str(info.value) and "-1.0" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        Problem(X3, Y3, arch="two-layer", width=np.int64(0))
    assert "np.int64" not in str(info.value)


def test_npz_with_bad_arrays(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones(3), y=Y3)
    with pytest.raises(InvalidInputError, match=r"a\.npz: X must be 2-D"):
        load_instance(tmp_path / "a.npz")


def test_bad_json_sidecar(write_instance):
    path = write_instance("inst.csv", X3, Y3)
    path.with_suffix(".json").write_text("{arch: one-node")
    with pytest.raises(InstanceFileError, match=r"inst\.json: not valid JSON"):
        load_instance(path)
    path.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(InstanceFileError, match=r"inst\.json: must hold a JSON object"):
        load_instance(path)


def test_sidecar_values_are_validated(write_instance):
    path = write_instance("inst.csv", X3, Y3, meta={"arch": "three-layer"})
    # the message names the sidecar: the user may have passed no --arch at all
    with pytest.raises(InstanceFileError, match=r"inst\.json: arch must be one of.*'three-layer'"):
        load_instance(path).problem()
    # a flag overrides the sidecar, so its bad value no longer matters
    assert load_instance(path).problem(arch="one-node").arch == "one-node"
    path = write_instance("inst2.csv", X3, Y3, meta={"B": -1})
    with pytest.raises(InstanceFileError, match=r"inst2\.json: weight bound"):
        load_instance(path).problem()
    for key, value in (("width", 0), ("loss", "huber"), ("bias", "yes")):
        path = write_instance(f"{key}.csv", X3, Y3, meta={"arch": "two-layer", key: value})
        with pytest.raises(InstanceFileError, match=rf"{key}\.json: {key} must be"):
            load_instance(path).problem()


def test_sidecar_defaults_and_overrides(write_instance):
    meta = {"arch": "two-layer", "width": 3, "loss": "hinge", "B": 0.5, "optimum": 1.25}
    inst = load_instance(write_instance("inst.npz", X3, Y3, meta=meta))
    assert inst.meta == meta and inst.name == "inst"
    p = inst.problem()
    assert (p.arch, p.width, p.loss, p.weight_bound, p.bias) == ("two-layer", 3, "hinge", 0.5, True)
    p = inst.problem(arch="one-node", loss="absolute", weight_bound=4.0, bias=False)
    assert (p.arch, p.width, p.loss, p.weight_bound, p.bias) == (
        "one-node",
        1,
        "absolute",
        4.0,
        False,
    )
    p = inst.problem(width=2)
    assert (p.arch, p.width) == ("two-layer", 2)
    plain = load_instance(write_instance("plain.csv", X3, Y3))
    assert plain.meta == {}
    p = plain.problem()
    assert (p.arch, p.width, p.loss, p.weight_bound) == ("one-node", 1, "squared", "auto")


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_save_and_load_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    path = save_instance(tmp_path / f"r{suffix}", X, y, meta={"loss": "absolute"})
    inst = load_instance(path)
    np.testing.assert_array_equal(inst.X, X)  # %.17g text is exact
    np.testing.assert_array_equal(inst.y, y)
    assert inst.meta == {"loss": "absolute"}


def test_written_csv_and_npz_load_identically(write_instance):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    a = load_instance(write_instance("a.csv", X, y))
    b = load_instance(write_instance("a.npz", X, y))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(InvalidInputError, match="unknown instance type"):
        save_instance(tmp_path / "x.parquet", X3, Y3)
