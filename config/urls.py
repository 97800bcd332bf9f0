from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from connections import views as connection_views
from jobs import views as job_views
from transfers import views as transfer_views

admin.site.site_header = "dhis2sync administration"
admin.site.site_title = "dhis2sync"
admin.site.index_title = "Configuration"
admin.site.site_url = "/"

# Swagger UI under the site's CSP: its init script comes from a URL of its own (the split view)
# and its files from drf-spectacular-sidecar, served from our static files (no CDN: the platform
# may run offline). Its page has one inline <style> and draws images from data: URLs.
_swagger_ui = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", job_views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("runs/", job_views.run_list, name="run-list"),
    path("runs/<int:pk>/", job_views.run_detail, name="run-detail"),
    path("runs/<int:pk>/poll/", job_views.run_poll, name="run-poll"),
    path("runs/<int:pk>/cancel/", job_views.run_cancel, name="run-cancel"),
    path("connections/", connection_views.connection_list, name="connections"),
    path("connections/<int:pk>/test/", connection_views.instance_test, name="instance-test"),
    path("transfers/", transfer_views.transfer_list, name="transfers"),
    path("transfers/new/", transfer_views.transfer_create, name="transfer-create"),
    path("transfers/<int:pk>/", transfer_views.transfer_detail, name="transfer-detail"),
    path("transfers/<int:pk>/edit/", transfer_views.transfer_edit, name="transfer-edit"),
    path("transfers/<int:pk>/run/", transfer_views.transfer_run, name="transfer-run"),
    path("runs/<int:run_id>/conflicts.csv", transfer_views.conflicts_csv, name="run-conflicts-csv"),
    path("metadata/", include("metadata_sync.urls")),
    path("completeness/", include("completeness.urls")),
    path("tracker/", include("tracker.urls")),
    path("schedules/", job_views.schedule_list, name="schedules"),
    path("schedules/new/", job_views.schedule_create, name="schedule-create"),
    path("schedules/<int:pk>/", job_views.schedule_detail, name="schedule-detail"),
    path("schedules/<int:pk>/edit/", job_views.schedule_edit, name="schedule-edit"),
    path("schedules/<int:pk>/delete/", job_views.schedule_delete, name="schedule-delete"),
    path("schedules/<int:pk>/pause/", job_views.schedule_pause, name="schedule-pause"),
    path("schedules/<int:pk>/resume/", job_views.schedule_resume, name="schedule-resume"),
    path("schedules/<int:pk>/run/", job_views.schedule_run, name="schedule-run"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", _swagger_ui, name="api-docs"),
]
