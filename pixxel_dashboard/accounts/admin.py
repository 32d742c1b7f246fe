from django.contrib import admin

from .models import (
    AuditEvent,
    EmailVerification,
    Invitation,
    Membership,
    Organization,
    record_event,
)


def audit_admin_change(request, obj, what: str, verb: str, changed=(), initial=None) -> None:
    """Write an admin's change to `obj` (a membership, an API key) to its organization's audit log.

    Only field names and roles are recorded: never a secret.
    """
    details = {"fields": list(changed), "via": "admin"}
    if "role" in changed and initial is not None:
        details["role"] = [initial.get("role"), getattr(obj, "role", None)]
    record_event(obj.organization, request.user, f"admin.{what}.{verb}", str(obj), **details)


class AuditedAdmin(admin.ModelAdmin):
    """Every save and delete from this admin lands in the organization's audit log."""

    audit_what = ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        verb = "changed" if change else "added"
        audit_admin_change(request, obj, self.audit_what, verb, form.changed_data, form.initial)

    def delete_model(self, request, obj):
        audit_admin_change(request, obj, self.audit_what, "deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("organization"):
            audit_admin_change(request, obj, self.audit_what, "deleted")
        super().delete_queryset(request, queryset)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not Membership:
            return
        # The inline's memberships are audited like the membership admin's own changes.
        for obj in formset.new_objects:
            audit_admin_change(request, obj, "membership", "added", ["role"])
        for obj, changed in formset.changed_objects:
            initial = next((f.initial for f in formset.forms if f.instance is obj), None)
            audit_admin_change(request, obj, "membership", "changed", changed, initial)
        for obj in formset.deleted_objects:
            audit_admin_change(request, obj, "membership", "deleted")


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    audit_what = "membership"
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "organization__name")
    raw_id_fields = ("user", "organization")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "created_at", "expires_at", "accepted_at")
    search_fields = ("email", "organization__name")
    # The token hash is useless to an admin and only invites copying around.
    exclude = ("token_hash",)
    readonly_fields = ("accepted_at", "accepted_by", "revoked_at")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "actor", "action", "target")
    list_filter = ("action",)
    search_fields = ("target", "organization__name", "actor__username")
    readonly_fields = ("organization", "actor", "action", "target", "details", "created_at")


@admin.register(EmailVerification)
class EmailVerificationAdmin(admin.ModelAdmin):
    """Accounts whose sign-up address is not confirmed yet (deleting a row confirms it)."""

    list_display = ("user", "email", "sent_at")
    search_fields = ("user__username", "email")
    readonly_fields = ("user", "email", "sent_at")
