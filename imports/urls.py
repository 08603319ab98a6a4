from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.my_imports, name="my_imports"),
    path("<int:job_id>/cancel/", views.cancel, name="cancel"),
]
