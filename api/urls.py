"""The API's back-office page. /api/v1/ itself and the unknown-URL answer under
/api/ are mounted in config/urls.py (ninja names its own namespace)."""

from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("settings/api-keys/", views.key_list, name="key_list"),
]
