"""Pages of event transfers, under /tracker/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.transfer_list, name="tracker"),
    path("new/", views.transfer_create, name="tracker-create"),
    path("<int:pk>/", views.transfer_detail, name="tracker-detail"),
    path("<int:pk>/edit/", views.transfer_edit, name="tracker-edit"),
    path("<int:pk>/preview/", views.transfer_preview, name="tracker-preview"),
    path("<int:pk>/run/", views.transfer_run, name="tracker-run"),
    path("runs/<int:run_id>/errors.csv", views.errors_csv, name="tracker-errors-csv"),
]
