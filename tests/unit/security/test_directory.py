"""Users, projects and memberships, found by id or by name."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.security.directory import Directory, Role
from qharbor.store import Database


@pytest.fixture
def directory(db: Database) -> Directory:
    return Directory(db)


def test_a_user_and_a_project_are_found_by_id_and_by_name(directory: Directory) -> None:
    user = directory.add_user("ada")
    project = directory.add_project("lab")
    assert directory.user("ada")["id"] == directory.user(user["id"])["id"] == user["id"]
    assert directory.project("lab")["id"] == directory.project(project["id"])["id"]
    assert (user["projects"], project["members"]) == ([], [])


def test_a_taken_name_is_refused(directory: Directory) -> None:
    directory.add_user("ada")
    directory.add_project("lab")
    with pytest.raises(errors.NameTaken, match="a user named 'ada'"):
        directory.add_user("ada")
    with pytest.raises(errors.NameTaken, match="a project named 'lab'"):
        directory.add_project("lab")


def test_an_unknown_user_or_project_says_where_to_list_them(directory: Directory) -> None:
    with pytest.raises(errors.UserNotFound, match="GET /v1/admin/users"):
        directory.user("nobody")
    with pytest.raises(errors.ProjectNotFound, match="GET /v1/admin/projects"):
        directory.project("nowhere")


def test_a_membership_shows_on_both_sides_until_it_is_removed(directory: Directory) -> None:
    user = directory.add_user("ada")
    project = directory.add_project("lab")
    directory.set_membership("lab", "ada", Role.VIEWER)
    directory.set_membership("lab", "ada", Role.MEMBER)  # a new role replaces the old
    assert directory.user("ada")["projects"] == [
        {"id": project["id"], "name": "lab", "role": "member"}
    ]
    assert directory.project("lab")["members"] == [
        {"id": user["id"], "name": "ada", "role": "member"}
    ]
    directory.set_membership("lab", "ada", None)
    assert directory.user("ada")["projects"] == []
    assert [u["name"] for u in directory.list_users()] == ["ada"]
    assert [p["name"] for p in directory.list_projects()] == ["lab"]
