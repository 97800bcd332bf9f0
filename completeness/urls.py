"""Completeness pages, mounted at /completeness/ by `config/urls.py`."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.assessment_list, name="completeness"),
    path("new/", views.assessment_create, name="completeness-create"),
    path("<int:pk>/", views.assessment_detail, name="completeness-detail"),
    path("<int:pk>/run/", views.assessment_run, name="completeness-run"),
    path("<int:pk>/mark/", views.assessment_mark, name="completeness-mark"),
    path("<int:pk>/export/", views.assessment_export, name="completeness-export"),
]
