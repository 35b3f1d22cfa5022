from django.contrib import admin
from django.urls import include, path, re_path

from api.compat import dolfin, gohighlevel, lago
from api.problems import unknown_url
from api.v1 import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_url),
    path("compat/lago/", lago.api.urls),
    path("compat/dolfin/", dolfin.api.urls),
    path("compat/gohighlevel/", gohighlevel.api.urls),
    re_path(r"^compat/(?P<rest>.*)$", unknown_url),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("billing.urls")),
]
