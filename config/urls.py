from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The back-office pages replace this redirect once they exist.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
