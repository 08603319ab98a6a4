from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def home(request):
    return HttpResponse("home")


@login_required
def search(request):
    return HttpResponse("search")
