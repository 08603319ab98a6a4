"""Issue 24, point 3: cancel or reschedule several Pending jobs together (each through its own
service, one summary message), Rows per page remembered per user, icons with names and no emoji;
point 4: "Schedule again" goes once a retry of the failed job completed."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportJob, MyImportsPreference
from imports.my_imports.views import ALREADY_RETRIED, SELECTION_EMPTY

from .helpers import schedule
from .test_my_imports import URL, job_html

SELECTED = reverse("imports:selected")


@pytest.fixture
def pending(demo):
    due = timezone.now() + dt.timedelta(days=5)
    return [schedule(demo, due_at=due, name=f"job {i}") for i in range(4)]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def test_pending_rows_have_a_checkbox_and_the_page_a_selection_bar(abbie_client, pending):
    ImportJob.objects.filter(pk=pending[0].pk).update(status=ImportJob.Status.COMPLETED)
    html = abbie_client.get(URL).content.decode()
    assert '<form method="post" action="/imports/selected/" id="imports-selection"' in html
    assert 'id="id_selected-due_at"' in html  # the reschedule form's own field: the same entry as the dialog
    for job in pending[1:]:
        assert f'name="jobs" value="{job.pk}" form="imports-selection"' in job_html(html, job)
    assert 'name="jobs"' not in job_html(html, pending[0])


def test_no_pending_job_no_selection_bar(abbie_client, pending):
    ImportJob.objects.update(status=ImportJob.Status.COMPLETED)
    assert 'id="imports-selection"' not in abbie_client.get(URL).content.decode()


def test_cancelling_the_selection_asks_first_then_says_what_happened_to_each(abbie_client, demo, pending):
    ids = [job.pk for job in pending]
    ask = abbie_client.post(SELECTED, {"action": "cancel", "jobs": ids, "back": "status=pending"})
    assert ask.status_code == 200
    html = ask.content.decode()
    assert "Cancel 4 imports?" in html and "Are you sure you want to cancel the selected imports?" in html
    assert all(f'name="jobs" value="{pk}"' in html for pk in ids)
    assert ImportJob.objects.filter(status="pending").count() == 4  # nothing yet
    # A worker claims one of them meanwhile: it is not cancelled, and the message says which.
    ImportJob.objects.filter(pk=ids[2]).update(status=ImportJob.Status.COMPLETED)
    done = abbie_client.post(SELECTED, {"action": "cancel", "jobs": ids, "confirmed": "yes", "back": "status=pending"},
                             follow=True)
    assert done.redirect_chain[-1][0] == f"{URL}?page=1&status=pending"
    assert messages_of(done) == [f"3 cancelled; 1 not cancelled: #{ids[2]} is no longer pending."]
    statuses = dict(ImportJob.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["cancelled", "cancelled", "completed", "cancelled"]


def test_a_job_of_another_reseller_in_the_selection_is_left_alone(client, demo, pending):
    theirs = schedule(demo, due_at=timezone.now() + dt.timedelta(days=5), company=demo.cusco,
                      user=demo.admin_andes, code="100113_AzurePlan_10002", term="P1M", vendor_config={})
    client.force_login(demo.admin_abbie)
    done = client.post(SELECTED, {"action": "cancel", "jobs": [pending[0].pk, theirs.pk], "confirmed": "yes"}, follow=True)
    assert messages_of(done) == [f"1 cancelled; 1 not cancelled: #{theirs.pk} was not found."]
    theirs.refresh_from_db()
    assert theirs.status == ImportJob.Status.PENDING


def test_rescheduling_the_selection_moves_each_pending_job(abbie_client, demo, pending):
    ids = [job.pk for job in pending[:3]]
    ImportJob.objects.filter(pk=ids[1]).update(status=ImportJob.Status.CANCELLED)
    new = (timezone.now() + dt.timedelta(days=20)).replace(second=0, microsecond=0)
    done = abbie_client.post(SELECTED, {"action": "reschedule", "jobs": ids,
                                        "selected-due_at": f"{new:%Y-%m-%d %H:%M}"}, follow=True)
    assert messages_of(done)[0] == f"2 rescheduled to {new:%Y-%m-%d %H:%M} (UTC); 1 not rescheduled: #{ids[1]} is no longer pending."
    dues = dict(ImportJob.objects.filter(pk__in=ids).values_list("pk", "due_at"))
    assert dues[ids[0]] == new and dues[ids[2]] == new and dues[ids[1]] != new


def test_rescheduling_the_selection_to_a_bad_time_changes_nothing(abbie_client, pending):
    before = dict(ImportJob.objects.values_list("pk", "due_at"))
    for value in ("", "tomorrow", "2001-01-01 10:00"):
        done = abbie_client.post(SELECTED, {"action": "reschedule", "jobs": [pending[0].pk], "selected-due_at": value},
                                 follow=True)
        assert done.status_code == 200 and messages_of(done), value
    assert dict(ImportJob.objects.values_list("pk", "due_at")) == before


def test_an_empty_selection_or_unknown_action_is_told(abbie_client, pending):
    done = abbie_client.post(SELECTED, {"action": "cancel"}, follow=True)
    assert messages_of(done) == [str(SELECTION_EMPTY)]
    done = abbie_client.post(SELECTED, {"action": "delete", "jobs": [pending[0].pk]}, follow=True)
    assert "cancel or reschedule" in messages_of(done)[0]
    assert abbie_client.get(SELECTED).status_code == 405
    assert ImportJob.objects.filter(status="pending").count() == 4


# --- Rows per page, remembered per user -----------------------------------------------------------


def test_rows_per_page_is_remembered_for_the_user(client, demo, pending):
    client.force_login(demo.admin_abbie)
    response = client.post(reverse("imports:rows_per_page"), {"per_page": "25", "back": "status=pending&per_page=50"})
    assert response.status_code == 302 and response["Location"] == f"{URL}?page=1&per_page=25&status=pending"
    assert MyImportsPreference.objects.get(user=demo.admin_abbie).per_page == 25
    html = client.get(URL).content.decode()  # a new visit, without per_page in the address
    assert '<option value="25" selected>25</option>' in html
    # Another user keeps the manual's 10; a size not offered changes nothing.
    client.force_login(demo.admin_andes)
    assert '<option value="10" selected>10</option>' in client.get(URL).content.decode()
    client.force_login(demo.admin_abbie)
    client.post(reverse("imports:rows_per_page"), {"per_page": "7"})
    assert MyImportsPreference.objects.get(user=demo.admin_abbie).per_page == 25
    # An address that says its size still wins.
    assert '<option value="50" selected>50</option>' in client.get(URL, {"per_page": "50"}).content.decode()


def test_the_remembered_size_pages_the_list(abbie_client, demo):
    for i in range(30):
        schedule(demo, due_at=timezone.now() + dt.timedelta(days=5), name=f"job {i}")
    MyImportsPreference.objects.create(user=demo.admin_abbie, per_page=25)
    html = abbie_client.get(URL).content.decode()
    assert html.count('class="imports-job"') == 25 and "1-25 of 30" in html


# --- Icons: named, no emoji -----------------------------------------------------------------------


EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\U0001F000-\U0001F2FF]")


def test_actions_have_text_and_names_and_no_emoji(abbie_client, pending):
    html = job_html(abbie_client.get(URL).content.decode(), pending[0])
    assert "🕓" not in html and "&#128339;" not in html
    actions = html.split('<td class="imports-actions">', 1)[1].split("</td>", 1)[0]
    assert not EMOJI.search(actions), EMOJI.findall(actions)
    assert '<span class="imports-action-text">Reschedule</span>' in actions
    assert '<span class="imports-action-text">Cancel</span>' in actions
    assert 'aria-label="Reschedule the import job 0"' not in actions  # the product's name, not a made-up one
    assert actions.count('<svg class="imports-icon" aria-hidden="true"') == 2


# --- Schedule again (point 4) ---------------------------------------------------------------------


def test_schedule_again_goes_once_a_retry_completed_and_the_link_stays(abbie_client, demo):
    failed = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))
    ImportJob.objects.filter(pk=failed.pk).update(status=ImportJob.Status.FAILED, error_count=1)
    retry = schedule(demo, due_at=timezone.now() + dt.timedelta(days=2))
    ImportJob.objects.filter(pk=retry.pk).update(retry_of=failed)
    html = job_html(abbie_client.get(URL).content.decode(), failed)
    assert "Schedule again the import" in html  # the retry is still pending: it may fail too
    ImportJob.objects.filter(pk=retry.pk).update(status=ImportJob.Status.COMPLETED)
    html = job_html(abbie_client.get(URL).content.decode(), failed)
    assert "Schedule again the import" not in html
    assert f'Scheduled again as <a href="/imports/?job={retry.pk}">import #{retry.pk}</a> (Completed).' in html
    # A page from before the retry completed: the button's POST says so and opens no draft.
    done = abbie_client.post(reverse("imports:retry", args=[failed.pk]), {"back": ""}, follow=True)
    assert messages_of(done) == [str(ALREADY_RETRIED % {"number": retry.pk})]
    assert done.redirect_chain[-1][0] == f"{URL}?page=1"


def test_schedule_again_stays_while_retries_failed(abbie_client, demo):
    failed = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))
    ImportJob.objects.filter(pk=failed.pk).update(status=ImportJob.Status.FAILED)
    retry = schedule(demo, due_at=timezone.now() + dt.timedelta(days=2))
    ImportJob.objects.filter(pk=retry.pk).update(retry_of=failed, status=ImportJob.Status.FAILED)
    assert "Schedule again the import" in job_html(abbie_client.get(URL).content.decode(), failed)
