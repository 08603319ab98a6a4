from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def my_imports(request):
    return HttpResponse("imports")
