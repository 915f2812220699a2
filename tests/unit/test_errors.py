"""The error tree: stable, unique codes that survive a JSON round trip."""

from __future__ import annotations

import pytest

from qharbor import errors


def _tree(klass: type[errors.QHarborError]) -> list[type[errors.QHarborError]]:
    found = [klass]
    for sub in klass.__subclasses__():
        found.extend(_tree(sub))
    return found


ALL_ERRORS = _tree(errors.QHarborError)


def test_every_code_is_unique_across_the_tree() -> None:
    codes = [klass.code for klass in ALL_ERRORS]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert duplicates == []


def test_every_class_is_found_by_its_code() -> None:
    assert {klass.code: klass for klass in ALL_ERRORS} == errors.ERRORS_BY_CODE


def test_every_code_is_an_upper_snake_case_word() -> None:
    for klass in ALL_ERRORS:
        assert klass.code.replace("_", "").isalpha(), klass
        assert klass.code == klass.code.upper(), klass


def test_default_message_is_the_class_docstring() -> None:
    error = errors.JobNotFound()
    assert error.message == "No job with that id exists in your project."
    assert str(error) == error.message


def test_to_json_has_the_one_error_shape() -> None:
    error = errors.ProgramSyntax("line 3, column 4: bad", line=3, column=4)
    assert error.to_json() == {
        "error": {
            "code": "PROGRAM_SYNTAX",
            "message": "line 3, column 4: bad",
            "detail": {"line": 3, "column": 4},
        }
    }


@pytest.mark.parametrize("klass", ALL_ERRORS, ids=lambda k: k.code)
def test_from_json_of_to_json_gives_back_the_same_error(
    klass: type[errors.QHarborError],
) -> None:
    original = klass(f"something about {klass.code}", job_id="j1", nested={"a": [1, 2]})
    again = errors.QHarborError.from_json(original.to_json())
    assert type(again) is klass
    assert again.code == klass.code
    assert again.message == original.message
    assert again.detail == original.detail


def test_from_json_accepts_the_inner_error_object() -> None:
    again = errors.QHarborError.from_json({"code": "JOB_NOT_FOUND", "message": "gone"})
    assert type(again) is errors.JobNotFound
    assert again.message == "gone"
    assert again.detail == {}


def test_from_json_of_an_unknown_code_keeps_the_code() -> None:
    body = {"error": {"code": "FUTURE_THING", "message": "from a newer centre", "detail": {"x": 1}}}
    again = errors.QHarborError.from_json(body)
    assert type(again) is errors.QHarborError
    assert again.code == "FUTURE_THING"
    assert again.message == "from a newer centre"
    assert again.detail == {"x": 1}
    assert again.to_json() == body


def test_unknown_code_does_not_change_the_base_class_code() -> None:
    errors.QHarborError.from_json({"error": {"code": "FUTURE_THING", "message": "m"}})
    assert errors.QHarborError.code == "INTERNAL"
    assert errors.QHarborError().code == "INTERNAL"


def test_subclass_families_share_a_base_callers_can_catch() -> None:
    for klass in (
        errors.ProgramSyntax,
        errors.ProgramUnsupported,
        errors.ProgramLimit,
        errors.ProgramParameters,
    ):
        assert issubclass(klass, errors.ProgramError)
    for klass in (errors.CompileError, errors.WorkerLost):
        assert issubclass(klass, errors.ExecutionError)
