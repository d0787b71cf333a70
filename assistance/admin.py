"""Back office for assistance (DOMAIN.md §7): units, cadres with their logins and roles, helper assignments.

Roles and helper assignments decide who sees what, so they are written only through the services
(``cadre_create``, ``role_assign``, ``role_end``, ``household_assign_helper``), which check the actor's
jurisdiction and keep the users' groups in step: their add pages are service forms (``ServiceAddMixin``),
their change pages are read-only, and a role is ended with an action. Every admin is scoped
(``ScopedAdminMixin``): county staff see and create the cadres of their county only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from assistance import services
from assistance.choices import Role
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment, Unit
from households.models import Household
from povertycase.admin_scoping import ScopedAdminMixin, admin_scope
from povertycase.jurisdiction import jurisdiction_for
from villages.models import County, Township, Village

# ---------------------------------------------------------------------------------------------------------
# Service forms: the add pages of cadres, roles and helper assignments


def assignable_places(user) -> tuple:
    """The counties, townships and villages where ``user`` may grant a role: their own places and what lies
    below them (not the ancestors that their jurisdiction shows for navigation); everything if city-wide."""
    j = jurisdiction_for(user)
    counties, townships = County.objects.all(), Township.objects.select_related("county")
    villages = Village.objects.select_related("township")
    if j.everything:
        return counties, townships, villages
    return (
        counties.filter(pk__in=j.county_ids),
        townships.filter(Q(county_id__in=j.county_ids) | Q(pk__in=j.township_ids)),
        villages.filter(Q(county_id__in=j.county_ids) | Q(township_id__in=j.township_ids) | Q(pk__in=j.village_ids)),
    )


class VillageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Village) -> str:
        return f"{obj.township.name} {obj.name}（{obj.code}）"


class ServiceForm(forms.Form):
    """A plain form whose ``cleaned_data`` are handed to a service; the service's errors come back on it."""

    #: service error key → form field (keys that are not fields become errors of the whole form)
    service_error_fields: dict[str, str] = {}

    def __init__(self, *args, user, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.admin_site = admin_site

    def add_service_error(self, exc: ValidationError | PermissionDenied) -> None:
        if isinstance(exc, PermissionDenied):
            self.add_error(None, str(exc) or "您没有权限执行此操作。")
            return
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, errors in exc.error_dict.items():
            name = self.service_error_fields.get(key, key)
            messages_ = [message for error in errors for message in error.messages]
            self.add_error(name if name in self.fields else None, messages_)


class RolePlaceFields(forms.Form):
    """The role and its place; one place at most, of the level the role requires (checked by the model)."""

    role = forms.ChoiceField(label="角色", choices=Role.choices)
    county = forms.ModelChoiceField(label="县（县级角色）", queryset=County.objects.none(), required=False)
    township = forms.ModelChoiceField(label="乡镇（乡镇级角色）", queryset=Township.objects.none(), required=False)
    village = VillageChoiceField(label="村（村级角色）", queryset=Village.objects.none(), required=False)
    place_help = (
        "县扶贫办选县，乡镇扶贫专干选乡镇，驻村第一书记、驻村工作队员和包村领导选村；"
        "帮扶责任人可选管理其的县、乡镇或村（不因此获得辖区，只能看到“帮扶户分配”中指定的户）；"
        "督查/审核人员选县，或不选表示全市。"
    )

    def setup_places(self) -> None:
        counties, townships, villages = assignable_places(self.user)
        self.fields["county"].queryset = counties
        self.fields["township"].queryset = townships
        self.fields["village"].queryset = villages
        self.fields["role"].help_text = self.place_help

    def role_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "role": data["role"],
            "county": data.get("county"),
            "township": data.get("township"),
            "village": data.get("village"),
        }


class CadreCreateForm(ServiceForm, RolePlaceFields):
    """新建干部账号: the login, the cadre's profile and a first role, created at once by ``cadre_create``."""

    username = forms.CharField(label="登录名", max_length=150)
    password1 = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(
        label="确认密码", strip=False, widget=forms.PasswordInput(render_value=False), help_text="请再次输入同一密码。"
    )
    name = forms.CharField(label="姓名", max_length=50)
    unit = forms.ModelChoiceField(label="帮扶单位", queryset=Unit.objects.none(), required=False)
    position = forms.CharField(label="职务", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)

    service_error_fields = {"password": "password1", "roles": "role", "roles[0]": "role"}
    fieldsets = (
        ("登录账号", {"fields": ("username", "password1", "password2")}),
        ("干部信息", {"fields": ("name", "unit", "position", "phone")}),
        ("角色与辖区", {"fields": ("role", "county", "township", "village")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = admin_scope(self.user, Unit.objects.all())
        self.setup_places()

    def clean(self):
        cleaned_data = super().clean()
        first, second = cleaned_data.get("password1"), cleaned_data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "两次输入的密码不一致。")
        return cleaned_data

    def save_through_service(self) -> Cadre:
        data = self.cleaned_data
        return services.cadre_create(
            actor=self.user,
            username=data["username"],
            password=data["password1"],
            name=data["name"],
            unit=data.get("unit"),
            position=data.get("position", ""),
            phone=data.get("phone", ""),
            roles=[self.role_arguments()],
        )


class RoleAssignmentForm(ServiceForm, RolePlaceFields):
    """分配角色 to an existing cadre through ``role_assign``."""

    cadre = forms.ModelChoiceField(label="干部", queryset=Cadre.objects.none())
    starts_on = forms.DateField(label="开始日期", initial=timezone.localdate, widget=AdminDateWidget)
    ends_on = forms.DateField(label="结束日期", required=False, widget=AdminDateWidget)

    fieldsets = ((None, {"fields": ("cadre", "role", "county", "township", "village", "starts_on", "ends_on")}),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cadre"].queryset = admin_scope(self.user, Cadre.objects.select_related("user"))
        self.setup_places()

    def save_through_service(self) -> RoleAssignment:
        data = self.cleaned_data
        return services.role_assign(
            actor=self.user,
            cadre=data["cadre"],
            starts_on=data["starts_on"],
            ends_on=data.get("ends_on"),
            **self.role_arguments(),
        )


class HouseholdAssignmentForm(ServiceForm):
    """指定帮扶责任人 through ``household_assign_helper`` (the previous helper's assignment ends the day before)."""

    household = forms.ModelChoiceField(label="贫困户", queryset=Household.objects.none())
    cadre = forms.ModelChoiceField(label="帮扶责任人", queryset=Cadre.objects.none())
    starts_on = forms.DateField(label="开始日期", initial=timezone.localdate, widget=AdminDateWidget)

    fieldsets = ((None, {"fields": ("household", "cadre", "starts_on")}),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Registered households run to the hundred thousand: searched, as on the household list. The widget
        # first: setting the queryset hands its choices to the widget.
        self.fields["household"].widget = AutocompleteSelect(
            HouseholdAssignment._meta.get_field("household"), self.admin_site
        )
        self.fields["household"].queryset = admin_scope(self.user, Household.objects.all())
        helpers_now = RoleAssignment.objects.active_on().filter(cadre=OuterRef("pk"), role=Role.HELPER)
        self.fields["cadre"].queryset = admin_scope(self.user, Cadre.objects.filter(Exists(helpers_now)))
        self.fields["cadre"].help_text = "只列出当前有“帮扶责任人”角色的干部。"

    def save_through_service(self) -> HouseholdAssignment:
        data = self.cleaned_data
        return services.household_assign_helper(
            actor=self.user, household=data["household"], cadre=data["cadre"], starts_on=data["starts_on"]
        )


class ServiceAddMixin:
    """An add page whose form calls a service instead of saving a ModelForm: the service validates and
    writes; its errors are shown on the form and nothing is saved (one transaction)."""

    add_form: type[ServiceForm]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = self.add_form(
            data,
            user=request.user,
            admin_site=self.admin_site,
            initial=self.get_changeform_initial_data(request),
        )
        if data is not None and form.is_valid():
            try:
                with transaction.atomic():
                    obj = form.save_through_service()
            except (ValidationError, PermissionDenied) as exc:
                form.add_service_error(exc)
            else:
                self.log_addition(request, obj, [{"added": {}}])
                return self.response_add(request, obj)
        adminform = helpers.AdminForm(form, list(form.fieldsets), {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": f"新建{self.opts.verbose_name}",
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)


class ReadOnlyChangeMixin:
    """Rows changed only through services: the change page shows them; nobody edits or deletes them."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------------------
# Units


@admin.register(Unit)
class UnitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "level", "cadre_count")
    list_filter = ("level",)
    search_fields = ("name",)
    search_help_text = "按单位名称搜索"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(cadre_total=Count("cadres"))

    def has_change_permission(self, request, obj=None) -> bool:
        # A unit is shared by the cadres of every county: renaming one is for city-wide users only.
        return super().has_change_permission(request, obj) and jurisdiction_for(request.user).everything

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and jurisdiction_for(request.user).everything

    @admin.display(description="干部人数", ordering="cadre_total")
    def cadre_count(self, obj: Unit) -> int:
        return obj.cadre_total


# ---------------------------------------------------------------------------------------------------------
# Cadres, with their roles and helped households


def place_label(assignment: RoleAssignment) -> str:
    if assignment.place is not None:
        return str(assignment.place)
    return "按帮扶户分配" if assignment.role == Role.HELPER else "全市"


def active_role_labels(assignments) -> str:
    return "；".join(f"{a.get_role_display()}（{place_label(a)}）" for a in assignments) or "无在岗角色"


class RoleAssignmentInline(ScopedAdminMixin, ReadOnlyChangeMixin, admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ("role", "place_display", "starts_on", "ends_on")
    readonly_fields = fields
    ordering = ("-starts_on",)
    verbose_name_plural = "角色（新增角色请用“分配角色”，结束角色请在角色分配列表中操作）"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("county", "township", "village")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="辖区")
    def place_display(self, obj: RoleAssignment) -> str:
        return place_label(obj)


class HouseholdAssignmentInline(ScopedAdminMixin, ReadOnlyChangeMixin, admin.TabularInline):
    model = HouseholdAssignment
    fk_name = "cadre"
    extra = 0
    fields = ("household_display", "starts_on", "ends_on")
    readonly_fields = fields
    ordering = ("-starts_on",)
    verbose_name_plural = "帮扶户"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("household")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="贫困户")
    def household_display(self, obj: HouseholdAssignment) -> str:
        url = reverse("admin:households_household_change", args=[obj.household_id])
        return format_html('<a href="{}">{}</a>', url, obj.household.household_number)


class ActiveRoleListFilter(admin.SimpleListFilter):
    title = "在岗角色"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if self.value() not in Role.values:
            return queryset.none()
        active = RoleAssignment.objects.active_on().filter(cadre=OuterRef("pk"), role=self.value())
        return queryset.filter(Exists(active))


@admin.register(Cadre)
class CadreAdmin(ServiceAddMixin, ScopedAdminMixin, SimpleHistoryAdmin):
    add_form = CadreCreateForm
    inlines = (RoleAssignmentInline, HouseholdAssignmentInline)
    list_display = ("name", "username", "unit", "position", "phone", "roles_display")
    list_select_related = ("user", "unit")
    list_filter = (ActiveRoleListFilter, "unit")
    search_fields = ("name", "user__username", "phone")
    search_help_text = "按姓名、登录名或电话搜索"
    list_per_page = 50
    fields = ("username", "name", "unit", "position", "phone", "assign_role_link")
    readonly_fields = ("username", "assign_role_link")

    def get_queryset(self, request):
        active = RoleAssignment.objects.active_on().select_related("county", "township", "village")
        return super().get_queryset(request).prefetch_related(Prefetch("roles", active, to_attr="active_roles"))

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="登录名", ordering="user__username")
    def username(self, obj: Cadre) -> str:
        return obj.user.get_username() if obj.pk else "-"

    @admin.display(description="在岗角色")
    def roles_display(self, obj: Cadre) -> str:
        return active_role_labels(obj.active_roles)

    @admin.display(description="分配角色")
    def assign_role_link(self, obj: Cadre) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:assistance_roleassignment_add") + f"?cadre={obj.pk}"
        return format_html('<a class="addlink" href="{}">为该干部分配新角色</a>', url)


# ---------------------------------------------------------------------------------------------------------
# Role assignments and helper assignments


class CurrentListFilter(admin.SimpleListFilter):
    title = "是否在岗"
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "在岗"), ("no", "已结束或未开始")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        current = queryset.model.objects.active_on().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=current)
        if self.value() == "no":
            return queryset.exclude(pk__in=current)
        return queryset.none()


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceAddMixin, ScopedAdminMixin, ReadOnlyChangeMixin, SimpleHistoryAdmin):
    add_form = RoleAssignmentForm
    list_display = ("cadre", "role", "place_display", "starts_on", "ends_on")
    list_select_related = ("cadre", "county", "township", "village")
    list_filter = ("role", CurrentListFilter)
    search_fields = ("cadre__name", "cadre__user__username")
    search_help_text = "按干部姓名或登录名搜索"
    list_per_page = 50
    actions = ("end_roles",)
    fields = ("cadre", "role", "place_display", "starts_on", "ends_on")
    readonly_fields = ("place_display",)

    def has_end_permission(self, request) -> bool:
        return self.has_view_permission(request) and request.user.has_perm("assistance.change_roleassignment")

    @admin.display(description="辖区")
    def place_display(self, obj: RoleAssignment) -> str:
        return place_label(obj)

    @admin.action(description="结束所选角色（自今日起）", permissions=["end"])
    def end_roles(self, request, queryset) -> None:
        """Ends each selected role that is still open today (``role_end``); all or none."""
        today = timezone.localdate()
        open_roles = queryset.filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today)).select_related("cadre__user")
        try:
            with transaction.atomic():
                ended = [services.role_end(actor=request.user, assignment=a, ends_on=today) for a in open_roles]
        except (ValidationError, PermissionDenied) as exc:
            text = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"未结束任何角色：{text}", messages.ERROR)
            return
        names = format_html_join("、", "{}", ((str(a),) for a in ended))
        self.message_user(
            request, format_html("已结束{}个角色：{}", len(ended), names) if ended else "所选角色均已结束。"
        )


@admin.register(HouseholdAssignment)
class HouseholdAssignmentAdmin(ServiceAddMixin, ScopedAdminMixin, ReadOnlyChangeMixin, SimpleHistoryAdmin):
    add_form = HouseholdAssignmentForm
    list_display = ("household", "cadre", "starts_on", "ends_on")
    list_select_related = ("household", "cadre")
    list_filter = (CurrentListFilter,)
    search_fields = ("household__household_number", "cadre__name")
    search_help_text = "按户编号或帮扶责任人姓名搜索"
    list_per_page = 50
    fields = ("household", "cadre", "starts_on", "ends_on")
