from django.urls import path

from . import views

urlpatterns = [
    path("", views.assessment_list, name="metadata"),
    path("assessments/<int:pk>/", views.assessment_detail, name="metadata-assessment"),
    path("assessments/<int:pk>/run/", views.assessment_rerun, name="metadata-rerun"),
    path("assessments/<int:pk>/review/", views.assessment_review, name="metadata-review"),
    path("assessments/<int:pk>/sync/", views.assessment_sync, name="metadata-sync"),
    path("profiles/<int:pk>/mappings/", views.profile_mapping_list, name="metadata-mappings"),
    path("mappings/<int:pk>/delete/", views.profile_mapping_delete, name="metadata-mapping-delete"),
]
