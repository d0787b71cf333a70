"""Forms of the field pages (DOMAIN.md §7). They parse and validate input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from assistance.models import Visit

# 不愁吃/不愁穿 as assessed on this visit: three answers, "not checked" leaves the household's fact alone.
CHECK_CHOICES = [("", "未核实"), ("yes", "是"), ("no", "否")]


def _yes_no(value: str) -> bool:
    return value == "yes"


class VisitForm(forms.ModelForm):
    """The "记录走访" form. A ModelForm for the model's labels, its ImageField (a real image, checked with
    Pillow) and its validators (photo size, no future date, findings required: ``Visit.clean``); it is never
    saved directly: the view passes ``cleaned_data`` to ``assistance.services.visit_log``."""

    food_secure = forms.TypedChoiceField(
        label="核实：不愁吃",
        choices=CHECK_CHOICES,
        coerce=_yes_no,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    clothing_secure = forms.TypedChoiceField(
        label="核实：不愁穿",
        choices=CHECK_CHOICES,
        coerce=_yes_no,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Visit
        fields = [
            "visited_on",
            "purpose",
            "findings",
            "problems",
            "follow_up",
            "photo",
            "food_secure",
            "clothing_secure",
        ]
        widgets = {
            "visited_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "findings": forms.Textarea(attrs={"rows": 4}),
            "problems": forms.Textarea(attrs={"rows": 3}),
            "follow_up": forms.Textarea(attrs={"rows": 3}),
            "photo": forms.FileInput(attrs={"accept": "image/*"}),
        }
        error_messages = {
            "visited_on": {
                "required": "请填写走访日期。",
                "invalid": "走访日期格式不正确，应为“2024-05-01”这样的日期。",
            },
            "purpose": {"required": "请填写走访目的。"},
            "findings": {"required": "请填写走访情况。"},
            "photo": {
                "invalid_image": "照片须为图片文件（JPG、PNG等），所选文件不是图片或已损坏。",
                "invalid": "照片上传失败，请重新选择。",
                "empty": "所选照片是空文件。",
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("visited_on", timezone.localdate())
        self.fields["visited_on"].input_formats = ["%Y-%m-%d", "%Y/%m/%d"]
        self.fields["purpose"].widget.attrs["placeholder"] = "如：了解春耕生产、核实收入"
        for name in ("food_secure", "clothing_secure"):
            self.initial.setdefault(name, "")

    def _post_clean(self) -> None:
        super()._post_clean()
        # Visit.clean() repeats what a required field already said ("请填写走访情况。"): show each message once.
        for errors in self._errors.values():
            unique = list(dict.fromkeys(errors))
            if len(unique) < len(errors):
                errors.data = [ValidationError(message) for message in unique]

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the form: under the field it names, else above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            target = field if field in self.fields and field != NON_FIELD_ERRORS else None
            self.add_error(target, [message for item in errors for message in item.messages])

    def visit_fields(self) -> dict:
        """The keyword arguments of ``visit_log`` from the cleaned data."""
        data = self.cleaned_data
        return {
            "visited_on": data["visited_on"],
            "purpose": data["purpose"],
            "findings": data["findings"],
            "problems": data.get("problems", ""),
            "follow_up": data.get("follow_up", ""),
            "photo": data.get("photo") or None,
            "food_secure": data.get("food_secure"),
            "clothing_secure": data.get("clothing_secure"),
        }
