from django.urls import path

from imports.company_provisioning import views as provisioning_views
from imports.my_imports import views
from imports.bulk import new_account_views
from imports.changes import views as change_views
from imports.bulk import views as bulk_views

app_name = "imports"
urlpatterns = [
    path("", views.my_imports, name="my_imports"),
    path("live/", views.live, name="live"),
    path("export/", views.export_list, name="export"),
    path("selected/", views.selected, name="selected"),
    path("rows-per-page/", views.rows_per_page, name="rows_per_page"),
    path("health/", views.health, name="health"),
    path("import/", bulk_views.bulk_import, name="bulk_import"),
    path("import/<int:upload_id>/confirm/", bulk_views.bulk_confirm, name="bulk_confirm"),
    path("import/template/<str:account_type>.<str:fmt>", bulk_views.bulk_template, name="bulk_template"),
    # + NEW on the company page: a customer company or a user, checked as a bulk import's line.
    path("new/<int:account_id>/", new_account_views.new_account, name="new_account"),
    # RECREATE PROVISIONING on the company page (its PROVISIONING tab is accounts', filled by imports).
    path("recreate/<int:account_id>/", provisioning_views.recreate_provisioning, name="recreate_provisioning"),
    path("<int:job_id>/failed-lines/", bulk_views.failed_lines, name="failed_lines"),
    path("<int:job_id>/lines/", views.lines, name="job_lines"),
    path("<int:job_id>/cancel/", views.cancel, name="cancel"),
    path("<int:job_id>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:job_id>/retry/", views.retry, name="retry"),
    # The Order review's "Schedule provisioning" button (the review page itself is orders:review).
    path("schedule/<uuid:order_uuid>/", views.schedule_provisioning, name="schedule_provisioning"),
    # The subscription page's change wizard and the cancel of an open change (issue 27).
    path("changes/<int:account_id>/", change_views.change_new, name="change_new"),
    path("changes/<int:account_id>/<int:change_id>/cancel/", change_views.change_cancel_view, name="change_cancel"),
]
