import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from billing import permissions


def pytest_configure(config):
    # Production's PBKDF2 costs most of a second per password on this kind of
    # machine, and nearly every test makes users and signs them in: the tests
    # use a fast hasher (what they check is who may do what, not hashing).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (row locks)"))


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("manager", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.MANAGER))
    return user


@pytest.fixture
def clerk(db):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.CLERK))
    return user


@pytest.fixture
def nobody(db):
    return get_user_model().objects.create_user("nobody", password="pw", is_staff=True)


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Tasks run when enqueued, in the test's thread (Django's ImmediateBackend):
    deterministic. tests/billing/test_outbox.py runs the real database worker."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
