"""billing.backends.ModelBackend: Django's permissions, read in one query."""

import pytest
from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission

from billing import permissions
from billing.backends import ModelBackend
from tests.helpers import user_with


def fresh(user):
    """The user as a new request loads it: no permission cache yet."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.mark.django_db
def test_a_user_s_own_and_group_permissions_in_one_query(django_assert_num_queries):
    user = user_with(permissions.REFUND)
    user.groups.add(Group.objects.get(name=permissions.CLERK))
    expected = backends.ModelBackend().get_all_permissions(fresh(user))
    assert "billing.refund_payment" in expected  # the user's own
    assert "billing.charge_payment" in expected  # the clerk group's
    user = fresh(user)
    with django_assert_num_queries(1):
        assert ModelBackend().get_all_permissions(user) == expected
        assert user.has_perm("billing.refund_payment")
        assert user.has_perm("billing.record_payment")
        assert not user.has_perm("billing.void_invoice")


@pytest.mark.django_db
def test_superusers_inactive_users_and_objects_are_django_s_own():
    User = get_user_model()
    boss = User.objects.create_superuser("boss", password="pw")
    assert len(ModelBackend().get_all_permissions(fresh(boss))) == Permission.objects.count()
    gone = user_with(permissions.REFUND, username="gone")
    gone.is_active = False
    gone.save()
    assert ModelBackend().get_all_permissions(fresh(gone)) == set()
    assert not fresh(gone).has_perm("billing.refund_payment")
    assert ModelBackend().get_all_permissions(fresh(user_with()), obj=object()) == set()


@pytest.mark.django_db
def test_permission_names_read_with_the_user_give_the_same_set(django_assert_num_queries):
    from billing.backends import keep_permissions, permission_names

    user = user_with(permissions.REFUND)
    user.groups.add(Group.objects.get(name=permissions.CLERK))
    nobody = user_with(username="nobody")
    expected = {u.pk: ModelBackend().get_all_permissions(fresh(u)) for u in (user, nobody)}
    User = get_user_model()
    with django_assert_num_queries(1):
        read = list(User.objects.annotate(names=permission_names("pk")).filter(pk__in=expected))
    for each in read:
        keep_permissions(each, each.names)
    with django_assert_num_queries(0):
        assert {u.pk: u.get_all_permissions() for u in read} == expected
        assert [u.has_perm("billing.refund_payment") for u in read] == [
            u.pk == user.pk for u in read
        ]


@pytest.mark.django_db
def test_a_signed_in_request_reads_its_user_and_permissions_in_one_query(
    client, django_assert_num_queries
):
    from django.contrib.auth import get_user

    user = user_with(permissions.VIEW)
    client.force_login(user)
    session = client.session
    dict(session)  # the session's own query, which a request makes first
    request = type("Request", (), {"session": session})()
    with django_assert_num_queries(1):
        signed_in = get_user(request)
        assert signed_in.pk == user.pk
        assert signed_in.has_perm("billing.view_billing")
        assert not signed_in.has_perm("billing.record_payment")

    user.user_permissions.clear()  # taken away: the next request knows
    assert not get_user(type("Request", (), {"session": client.session})()).has_perm(
        "billing.view_billing"
    )
