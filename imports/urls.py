from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.my_imports, name="my_imports"),
    path("live/", views.live, name="live"),
    path("export/", views.export_list, name="export"),
    path("health/", views.health, name="health"),
    path("<int:job_id>/cancel/", views.cancel, name="cancel"),
    path("<int:job_id>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:job_id>/retry/", views.retry, name="retry"),
    # The Order review's "Schedule provisioning" button (the review page itself is orders:review).
    path("schedule/<uuid:order_uuid>/", views.schedule_provisioning, name="schedule_provisioning"),
]
