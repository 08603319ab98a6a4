"""A request body over settings.UPLOAD_MAX_BODY_BYTES keeps its form fields but none of its files.

First of settings.FILE_UPLOAD_HANDLERS, so it runs before anything reads request.POST (the CSRF
check does, before any view): the body is then read and dropped as it comes, never spooled to a
temporary file or held in memory. The view asks upload_refused(request) to say the file is too big
with its own message, rather than Django's bare 400 or a "choose a file".

Content-Length is a true bound: Django reads no more of a body than it says.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

_REFUSED = "_upload_refused"


class BoundedUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.refused = content_length > settings.UPLOAD_MAX_BODY_BYTES
        if self.refused and self.request is not None:
            setattr(self.request, _REFUSED, True)
        return None  # the fields are parsed as usual

    def new_file(self, *args, **kwargs):
        if self.refused:
            raise SkipFile  # before the next handlers open a file for it: its data is read and dropped
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None


def upload_refused(request) -> bool:
    """Whether the request's files were dropped for a body over UPLOAD_MAX_BODY_BYTES."""
    _files = request.FILES  # parses the body if nothing has yet
    return getattr(request, _REFUSED, False)
