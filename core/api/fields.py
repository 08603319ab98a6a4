"""Serializer fields that take JSON's own types only: "5" is not a quantity and "yes" is not a
boolean. DRF's fields coerce them; an API client sending them has a bug we should tell it about."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

NOT_A_STRING = _("Must be a string.")
NOT_A_WHOLE_NUMBER = _("Must be a whole number, e.g. 1.")
NOT_A_BOOLEAN = _("Must be true or false.")


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": NOT_A_STRING}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": NOT_A_WHOLE_NUMBER}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": NOT_A_BOOLEAN}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
