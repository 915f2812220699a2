"""Result shapes for users of other clouds."""

from __future__ import annotations

from qharbor.jobs.shapes import origin_probabilities, reshape


def test_origin_probabilities_are_keyed_by_hex_with_bit_i_as_c_i() -> None:
    probabilities = origin_probabilities({"01": 30, "10": 10, "11": 60})
    # "01" is c[0]=1, c[1]=0: the integer 1.
    assert probabilities == {"0x1": 0.3, "0x2": 0.1, "0x3": 0.6}


def test_registers_separated_by_spaces_are_one_number() -> None:
    assert origin_probabilities({"1 0": 4}) == {"0x2": 1.0}


def test_no_counts_give_no_probabilities() -> None:
    assert origin_probabilities({}) == {}


def test_reshape_leaves_the_stored_document_alone() -> None:
    result = {"experiments": [{"counts": {"0": 1}}]}
    shaped = reshape(result, "origin")
    assert shaped["experiments"][0]["probabilities"] == {"0x0": 1.0}
    assert "probabilities" not in result["experiments"][0]
    assert reshape(result, "qharbor") is result
