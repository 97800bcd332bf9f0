"""Transfer pages: list with last status, detail with runs, the form with pickers, run buttons,
and the conflicts CSV of a run."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from connections.models import Instance
from connections.names import names_across, names_for
from jobs.faces import (
    PROFILE_NAMES,
    add_and_change_views,
    launch_view,
    run_rows_csv,
    searched_page,
)
from jobs.models import Run
from jobs.templatetags.ui import period_text

from .forms import MappingFormSet, TransferForm
from .models import Transfer, TransferConflict
from .services import (
    TransferInvalid,
    profile_mappings_in_force,
    save_transfer,
    start_transfer,
)

#: Rows per page of the lists.
PER_PAGE = 25


def _names_by_instance(pairs: list[tuple[Instance, str]]) -> dict[int, dict[str, str]]:
    """One lookup per instance for the (instance, uid) pairs a page shows."""
    wanted: dict[int, tuple[Instance, list[str]]] = {}
    for instance, uid in pairs:
        wanted.setdefault(instance.pk, (instance, []))[1].append(uid)
    return {pk: names_for(instance, uids) for pk, (instance, uids) in wanted.items()}


@login_required
@permission_required("transfers.view_transfer", raise_exception=True)
def transfer_list(request: HttpRequest) -> HttpResponse:
    """Transfers, searchable by name, profile, instance or data set UID, 25 to a page, with
    the data sets by name (looked up on each transfer's source and destination)."""
    transfers = Transfer.objects.select_related(
        "profile__source", "profile__destination", "last_run"
    )
    page, q = searched_page(
        request,
        transfers,
        per_page=PER_PAGE,
        contains=("name", *PROFILE_NAMES),
        equals=("data_set", "target_data_set"),
    )
    pairs = [(t.profile.source, t.data_set) for t in page.object_list]
    pairs += [(t.profile.destination, t.target_data_set or t.data_set) for t in page.object_list]
    names = _names_by_instance(pairs)
    rows = [
        {
            "t": t,
            "data_set": names[t.profile.source_id].get(t.data_set, t.data_set),
            "target_data_set": names[t.profile.destination_id].get(
                t.target_data_set, t.target_data_set
            )
            if t.target_data_set
            else "",
        }
        for t in page.object_list
    ]
    return render(request, "transfers/list.html", {"page": page, "rows": rows, "q": q})


@login_required
@permission_required("transfers.view_transfer", raise_exception=True)
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The transfer with every UID named: source-side ones by the source, destination-side
    ones (target data set, mapped elements and org units) by the destination."""
    transfer = get_object_or_404(
        Transfer.objects.select_related("profile__source", "profile__destination"), pk=pk
    )
    runs = Run.objects.filter(target=transfer.target).select_related("started_by")[:25]
    mappings = list(transfer.mappings.all())
    source_uids = [transfer.data_set, *transfer.org_units, *transfer.org_unit_map]
    source_uids += list(transfer.attribute_option_combo_map)
    dest_uids = [transfer.target_data_set, *transfer.org_unit_map.values()]
    dest_uids += list(transfer.attribute_option_combo_map.values())
    for m in mappings:
        source_uids += [m.source_data_element, m.source_category_option_combo]
        dest_uids += [m.target_data_element, m.target_category_option_combo]
    profile = transfer.profile
    context = {
        "transfer": transfer,
        "runs": runs,
        "mappings": mappings,
        "profile_mappings": profile_mappings_in_force(transfer),
        "source_names": names_for(profile.source, source_uids),
        "dest_names": names_across([profile.destination, profile.source], dest_uids),
    }
    return render(request, "transfers/detail.html", context)


def _edit(request: HttpRequest, transfer: Transfer | None) -> HttpResponse:
    """The form and the formset parse; `save_transfer` validates and saves, and what it
    refuses is shown on the inputs."""
    transfer = transfer if transfer is not None else Transfer()
    form = TransferForm(request.POST or None, instance=transfer)
    formset = MappingFormSet(request.POST or None, instance=transfer, prefix="mappings")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = save_transfer(
                transfer if transfer.pk else None,
                user=request.user,
                mappings=formset.rows(),
                **form.service_fields(),
            )
        except TransferInvalid as exc:
            form.show_errors(exc)
            formset.show_errors(exc)
        else:
            messages.success(request, f"Transfer {saved.name} saved.")
            return redirect("transfer-detail", pk=saved.pk)
    return render(
        request, "transfers/form.html", {"form": form, "formset": formset, "transfer": transfer}
    )


transfer_create, transfer_edit = add_and_change_views(Transfer, _edit)


transfer_run = launch_view(Transfer, start_transfer, back="transfer-detail", resumable=True)


#: The columns of a run's conflicts download, in this order.
CONFLICT_COLUMNS = (
    "error_code", "message", "data_element", "period", "org_unit", "category_option_combo",
    "attribute_option_combo", "value", "object", "property",
)  # fmt: skip
conflicts_csv = run_rows_csv(TransferConflict, CONFLICT_COLUMNS, "conflicts")


# --- the run page's conflicts ---------------------------------------------------------------

#: Page size of the conflict rows under the groups.
CONFLICT_ROWS_PER_PAGE = 50
#: Names of the affected data elements and org units listed per group (the rest are counted).
GROUP_NAMES_SHOWN = 8

#: DHIS2 conflict codes in words; `{0}`, `{1}` are the message's back-quoted identifiers in
#: order (the templates of DHIS2's `ErrorCode` enum, e.g. E7603 "Org unit not found or not
#: accessible: `{0}`"). A code not listed here shows DHIS2's own message with names.
_CAUSES: dict[str, str] = {
    "E7600": "data set {0} does not exist there or is not accessible",
    "E7601": "the destination user may not write data set {0}",
    "E7603": "org unit {0} does not exist there or is not accessible",
    "E7604": "attribute option combo {0} does not exist there or is not accessible",
    "E7610": "data element {0} does not exist there or is not accessible",
    "E7611": "period {0} is not valid",
    "E7612": "org unit {0} does not exist there or is not accessible",
    "E7613": "option combo {0} does not exist there or may not be written",
    "E7615": "attribute option combo {0} does not exist there or may not be written",
    "E7617": "org unit {0} is outside the destination user's hierarchy",
    "E7630": "an option combo is required but none was given",
    "E7631": "an attribute option combo is required but none was given",
    "E7632": "period {0} has the wrong period type for data element {1}",
    "E7633": "data element {0} is not part of data set {1} there",
    "E7634": "option combo {0} is not in the category combo of data element {1}",
    "E7636": "data element {1} is not assigned to org unit {0} through a data set",
    "E7640": "period {0} is past the expiry days of data set {1}",
    "E7641": "period {0} is after the latest open future period",
    "E7643": "period {0} is not open for data set {1}",
}
_QUOTED = re.compile(r"`([^`]*)`")


def _words(token: str, names: dict[str, str]) -> str:
    if token in names and names[token] != token:
        return names[token]
    return period_text(token)


def conflict_cause(code: str, message: str, names: dict[str, str]) -> str:
    """Why DHIS2 refused the values of one conflict group, in words with names."""
    tokens = [_words(t, names) for t in _QUOTED.findall(message)]
    template = _CAUSES.get(code)
    if template is not None:
        try:
            return template.format(*tokens)
        except IndexError:  # a message worded otherwise (another DHIS2 version)
            pass
    text = _QUOTED.sub(lambda m: _words(m.group(1), names), message).strip()
    # "Value must match..." reads on after "because"; an acronym ("OU ...") keeps its case.
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


@dataclass
class ConflictGroup:
    """The conflicts of one run with one error code and one message (one cause)."""

    key: str
    code: str
    message: str
    count: int = 0
    data_elements: list[str] = field(default_factory=list)
    org_units: list[str] = field(default_factory=list)
    cause: str = ""

    @property
    def more_data_elements(self) -> int:
        return max(0, len(self.data_elements) - GROUP_NAMES_SHOWN)

    @property
    def more_org_units(self) -> int:
        return max(0, len(self.org_units) - GROUP_NAMES_SHOWN)


def _group_key(code: str, message: str) -> str:
    return hashlib.blake2s(f"{code}\x00{message}".encode(), digest_size=5).hexdigest()


def conflict_groups(run: Run) -> list[ConflictGroup]:
    """The run's conflicts grouped by error code and message, largest first, each with the
    distinct data elements and org units it affects (two queries, whatever the size)."""
    conflicts = TransferConflict.objects.filter(run=run)
    groups: dict[tuple[str, str], ConflictGroup] = {}
    for row in conflicts.values("error_code", "message").annotate(n=Count("id")):
        code, message = row["error_code"], row["message"]
        groups[(code, message)] = ConflictGroup(_group_key(code, message), code, message, row["n"])
    affected = conflicts.values_list("error_code", "message", "data_element", "org_unit")
    for code, message, de, ou in affected.distinct().order_by():
        group = groups[(code, message)]
        if de and de not in group.data_elements:
            group.data_elements.append(de)
        if ou and ou not in group.org_units:
            group.org_units.append(ou)
    return sorted(groups.values(), key=lambda g: (-g.count, g.code, g.message))


def run_conflicts_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    """What `transfers/_run_conflicts.html` shows: the groups with their causes in words, one
    page of rows (all, or one group's with `?group=`), and the names of every UID shown (also
    in the unmapped and profile-mapping tables), looked up on the destination first (where the
    values went, and what refused them) and then the source."""
    groups = conflict_groups(run)
    selected = next((g for g in groups if g.key == request.GET.get("group")), None)
    rows = TransferConflict.objects.filter(run=run).order_by("id")
    if selected is not None:
        rows = rows.filter(error_code=selected.code, message=selected.message)
    page = Paginator(rows, CONFLICT_ROWS_PER_PAGE).get_page(request.GET.get("cpage"))
    uids: list[str] = []
    for g in groups:
        uids += g.data_elements[:GROUP_NAMES_SHOWN] + g.org_units[:GROUP_NAMES_SHOWN]
        uids += _QUOTED.findall(g.message)
    for c in page.object_list:
        uids += [c.data_element, c.org_unit, c.category_option_combo, c.attribute_option_combo]
    for u in run.stats.get("unmapped_detail") or []:
        uids += [u.get("data_element"), u.get("category_option_combo")]
    for m in run.stats.get("profile_mapping_detail") or []:
        uids += [m.get("source"), m.get("destination")]
    transfer = (
        Transfer.objects.select_related("profile__source", "profile__destination")
        .filter(pk=run.params.get("transfer_id"))
        .first()
    )
    instances = [transfer.profile.destination, transfer.profile.source] if transfer else []
    names = names_across(instances, uids) if uids else {}
    for g in groups:
        g.cause = conflict_cause(g.code, g.message, names)
    return {
        "conflict_groups": groups,
        "conflict_total": sum(g.count for g in groups),
        "conflict_group": selected,
        "conflict_page": page,
        "names": names,
        "group_names_shown": GROUP_NAMES_SHOWN,
    }
