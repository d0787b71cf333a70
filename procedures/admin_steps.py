"""The steps of an application taken from its back-office page (DOMAIN.md §5), for ``procedures.admin``.

``ApplicationStepsMixin`` adds to the application page a "办理" section with a form for exactly each step the
user may take now (``procedures.selectors.application_offer``: the step's roles at a place covering the
household, maker-checker, the notice period, the six signatures), each with its comment, and the forms that
record an objection (异议) and a signature (签字). They post to ``<id>/procedure/``; the view parses the form and
calls the service (``application_transition``, ``signature_record``): done, back to the page with a success
message; refused, the same page again with the service's words under the form and at the top.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse

from procedures.forms import application_forms, submit_application_form
from procedures.models import Application


def as_get(request):
    """The same request as a GET: a refused POST shows its page again, with the errors, instead of redirecting
    (what the user typed stays in the form)."""
    page = copy.copy(request)
    page.method = "GET"
    return page


class ApplicationStepsMixin:
    """For the application's ModelAdmin (see the module docstring)."""

    def get_urls(self):
        procedure = path(
            "<path:object_id>/procedure/",
            self.admin_site.admin_view(self.procedure_view),
            name="procedures_application_procedure",
        )
        return [procedure, *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["procedure"] = self.procedure_panel(request, obj, bound=context.get("procedure_bound"))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def procedure_panel(self, request, application: Application, *, bound=None) -> dict:
        """The page's "办理" section (``procedures.forms.application_forms``) and where its forms post."""
        return {
            **application_forms(request.user, application, bound=bound),
            "url": reverse("admin:procedures_application_procedure", args=[application.pk]),
        }

    def procedure_view(self, request, object_id):
        """POST of the application page's forms (``procedures.forms.submit_application_form``): the service
        decides; done → back to the page with a message, refused → the page again with the errors."""
        application = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        page_url = reverse("admin:procedures_application_change", args=[application.pk])
        if request.method != "POST":
            return HttpResponseRedirect(page_url)
        submission = submit_application_form(request.user, application, request.POST)
        if submission.done:
            self.message_user(request, submission.message, messages.SUCCESS)
            return HttpResponseRedirect(page_url)
        self.message_user(request, f"未能办理“{submission.what}”：{submission.refusal}", messages.ERROR)
        bound = (submission.key, submission.form)
        return self.change_view(as_get(request), object_id, extra_context={"procedure_bound": bound})
