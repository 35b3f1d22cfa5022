"""Template context of every page (config/settings.py, TEMPLATES)."""

from django.contrib.auth import context_processors


class PermLookupDict(context_processors.PermLookupDict):
    """Django's ``perms.<app>``, keeping each answer for the rest of the render."""

    def __init__(self, user, app_label):
        super().__init__(user, app_label)
        self.answers = {}

    def __getitem__(self, perm_name):
        try:
            return self.answers[perm_name]
        except KeyError:
            answer = self.answers[perm_name] = super().__getitem__(perm_name)
            return answer


class PermWrapper(context_processors.PermWrapper):
    """Django's ``perms``, asking ``user.has_perm`` once per permission and page.

    A page asks the same permissions row after row (the invoice page asks four
    for each payment's actions), and each ask goes through every authentication
    backend (Django loads them anew each time); the answers cannot change while
    one page renders."""

    def __init__(self, user):
        super().__init__(user)
        self.apps = {}

    def __getitem__(self, app_label):
        try:
            return self.apps[app_label]
        except KeyError:
            lookup = self.apps[app_label] = PermLookupDict(self.user, app_label)
            return lookup


def auth(request):
    """``perms`` as a PermWrapper that remembers its answers. Listed after
    Django's own auth processor (which the admin's checks ask for), whose
    ``perms`` it replaces."""
    if hasattr(request, "user"):
        user = request.user  # lazy: not read unless the page asks
    else:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()
    return {"perms": PermWrapper(user)}
