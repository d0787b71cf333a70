"""The forms of the procedures' screens (DOMAIN.md §5): a step with its comment, an objection, a signature, the
opening of an application, and the county's return-to-poverty and removal decisions.

They parse input (dates, choices) and nothing more: whether a reason is required, a date allowed or a step open
to the user is the services' to say (``procedures.services``), and ``add_service_error`` puts what a service
said under the field it names. Shared by the back office (``procedures.admin_steps``,
``procedures.admin_households``) and the field pages, as are the application page's two halves:
``application_forms`` (a form for each step the user may take now, from ``procedures.selectors``) and
``submit_application_form`` (parse the posted form, call the service, say what happened).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from procedures import labels, selectors, services
from procedures.choices import Action, Signatory, State
from procedures.models import Application

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
OUT_OF_SCOPE_MESSAGE = "不在您的辖区内。"


def refusal_messages(error: Exception) -> list[str]:
    """A service's refusal as the sentences a user reads."""
    if isinstance(error, ValidationError):
        return list(error.messages)
    if isinstance(error, Http404):
        return [OUT_OF_SCOPE_MESSAGE]
    return [str(error)]


def join_reasons(lines: list[str]) -> str:
    """Sentences as one line: "该户未达到退出标准：" followed by its reasons, separated by "；"."""
    text = ""
    for line in lines:
        text += line if not text or text.endswith("：") else f"；{line}"
    return text


def refusal_text(error: Exception) -> str:
    """A service's refusal as one line (``join_reasons``)."""
    return join_reasons(refusal_messages(error))


class ServiceErrorsMixin:
    """Shows a service's refusal (ValidationError, PermissionDenied, Http404) on the form."""

    def add_service_error(self, error: ValidationError | PermissionDenied | Http404) -> None:
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                target = name if name in self.fields and name != NON_FIELD_ERRORS else None
                self.add_error(target, [message for item in errors for message in item.messages])
            return
        self.add_error(None, refusal_messages(error))


def _textarea(rows: int = 2, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "cols": 60, **attrs})


def _date_field(label: str, *, required: bool) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日期格式不正确，应为“2020-05-01”这样的日期。", "required": f"请填写{label}。"},
    )


class StepForm(ServiceErrorsMixin, forms.Form):
    """One step on an application (a forward step or 不予通过), with the comment recorded on it."""

    action = forms.CharField(widget=forms.HiddenInput)
    comment = forms.CharField(label="意见", required=False, widget=_textarea())

    def __init__(self, *args, reject: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if reject:
            self.fields["comment"].label = "不予通过理由"
            self.fields["comment"].widget.attrs["placeholder"] = "必填：说明不予通过的理由"


class ObjectionForm(ServiceErrorsMixin, forms.Form):
    """异议 raised during a notice period (it sends the application back, §5)."""

    text = forms.CharField(label="异议内容", required=False, widget=_textarea(3))
    raised_by = forms.CharField(label="提出人", required=False, max_length=50)
    raised_on = _date_field("提出日期", required=False)
    comment = forms.CharField(label="意见", required=False, widget=_textarea())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("raised_on", timezone.localdate())


class SignatureForm(ServiceErrorsMixin, forms.Form):
    """One of the six signatures (六签字) on an identification file; only the missing ones are offered."""

    signatory = forms.ChoiceField(label="签字人身份", choices=Signatory.choices)
    name = forms.CharField(label="签字人姓名", required=False, max_length=50)
    signed_on = _date_field("签字日期", required=True)

    def __init__(self, *args, signatories: tuple[str, ...] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if signatories is not None:
            self.fields["signatory"].choices = [(s, Signatory(s).label) for s in signatories]
        self.fields["signatory"].error_messages["invalid_choice"] = "该身份的签字已记录，或不是六签字之一。"
        if not self.is_bound:
            self.initial.setdefault("signed_on", timezone.localdate())


class OpenApplicationForm(ServiceErrorsMixin, forms.Form):
    """提出退出申请 / 提出识别申请: the comment recorded on the opening step."""

    comment = forms.CharField(label="说明", required=False, widget=_textarea())


class ReturnToPovertyForm(ServiceErrorsMixin, forms.Form):
    """认定返贫 (a county decision on an exited household, §5): its grounds."""

    comment = forms.CharField(
        label="认定依据", required=False, widget=_textarea(3, placeholder="必填：如新评估未达标的指标、核实情况")
    )


class RemovalForm(ServiceErrorsMixin, forms.Form):
    """清退 (识别不准, a county decision, §5): its reason."""

    reason = forms.CharField(
        label="清退理由", required=False, widget=_textarea(3, placeholder="必填：识别不准的具体情况")
    )


# ---------------------------------------------------------------------------------------------------------
# An application's page: the forms offered, and what a posted one did


def roles_text(roles) -> str:
    return "、".join(labels.role_label(role) for role in sorted(roles))


def application_forms(user, application: Application, *, bound: tuple[str, forms.Form] | None = None) -> dict:
    """A form for each step ``user`` may take on ``application`` now (``selectors.application_offer``), the
    objection and signature forms where offered, and the offer's notes. ``bound``: the (key, form) of a refused
    post, shown again in place of its blank form with the service's words."""
    offer = selectors.application_offer(user, application)
    bound_key, bound_form = bound or ("", None)

    def form(key: str, make):
        return bound_form if key == bound_key else make()

    objection = offer.objection
    return {
        "offer": offer,
        "steps": [
            {
                "action": t.action,
                "label": labels.action_label(t.action),
                "target": labels.state_label(t.target),
                "roles": roles_text(t.roles),
                "form": form(f"step:{t.action}", lambda t=t: StepForm(initial={"action": t.action})),
            }
            for t in offer.forward
        ],
        "reject_form": offer.rejection
        and form(f"step:{Action.REJECT}", lambda: StepForm(initial={"action": Action.REJECT}, reject=True)),
        "objection_form": objection and form("object", ObjectionForm),
        "objection_target": objection and labels.state_label(objection.target),
        "signature_form": offer.may_sign and form("sign", lambda: SignatureForm(signatories=offer.missing_signatories)),
        "closed": application.is_closed,
        "bound_key": bound_key,
    }


@dataclass
class Submission:
    """What a posted application form did: ``message`` when done, else ``refusal`` (and the errors on ``form``)."""

    key: str
    what: str
    form: forms.Form
    message: str = ""
    refusal: str = ""

    @property
    def done(self) -> bool:
        return bool(self.message)


def submit_application_form(user, application: Application, data) -> Submission:
    """Parse a posted application form (``op``: ``step`` with ``action`` and ``comment``, ``object`` or ``sign``)
    and call the service. Http404 for an unknown ``op``."""
    op = data.get("op")
    if op == "step":
        action = data.get("action", "")
        submission = Submission(
            f"step:{action}", labels.action_label(action), StepForm(data, reject=action == "reject")
        )
    elif op == "object":
        submission = Submission("object", labels.action_label(Action.OBJECT), ObjectionForm(data))
    elif op == "sign":
        missing = selectors.application_offer(user, application).missing_signatories
        submission = Submission("sign", "记录签字", SignatureForm(data, signatories=missing))
    else:
        raise Http404("未知的操作。")
    form = submission.form
    if not form.is_valid():
        submission.refusal = "请更正填写的内容。"
        return submission
    cleaned = form.cleaned_data
    try:
        if op == "step":
            done = services.application_transition(
                actor=user, application=application, action=cleaned["action"], comment=cleaned["comment"]
            )
            submission.message = f"已办理“{submission.what}”：申请现处于“{done.get_state_display()}”环节。"
            if done.state == State.COUNTY_APPROVED:
                submission.message += "决定已记入决定记录。"
        elif op == "object":
            done = services.application_transition(
                actor=user,
                application=application,
                action=Action.OBJECT,
                comment=cleaned["comment"],
                objection=services.ObjectionInput(cleaned["text"], cleaned["raised_by"], cleaned["raised_on"]),
            )
            submission.message = f"已记录异议：申请退回“{done.get_state_display()}”环节。"
        else:
            signature = services.signature_record(
                actor=user,
                application=application,
                signatory=cleaned["signatory"],
                name=cleaned["name"],
                signed_on=cleaned["signed_on"],
            )
            submission.message = f"已记录{signature.get_signatory_display()}签字（{signature.name}）。"
    except (ValidationError, PermissionDenied, Http404) as refused:
        form.add_service_error(refused)
        submission.refusal = refusal_text(refused)
    return submission
