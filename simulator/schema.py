"""Metadata kinds the simulator serves: plural endpoint names, Java class names (for
``klass`` in import reports and for 404 messages) and property roles.

Property roles follow DHIS2's schema descriptors (``/api/schemas``): *owner* properties are
persisted on the object and are what ``fields=:owner`` returns and what a metadata import
accepts; *computed* properties (``displayName``, ``children``, ``ancestors``...) are derived on
read.

*defaults* are owner properties DHIS2 always writes, even for an object imported without them:
primitive Java fields (``boolean``/``int``, never null) and fields with an initialiser
(``Boolean autoGenerateEvent = true``). They come from the classes' ``@JsonProperty`` getters
and field declarations at tags 2.36.0 to 2.42.0 (``core@<tag>:dhis-2/dhis-api/src/main/java/
org/hisp/dhis/``: ``dataset/DataSet.java``, ``program/ProgramStage.java``,
``program/Program.java``, ``dataelement/DataElement.java``, ``category/CategoryOptionCombo.java``,
``category/CategoryCombo.java``), the same in every one of those versions for the properties
listed. ``featureType`` has no initialiser; ``NONE`` is what the 2.31 migration
(``V2_31_1__Migrations_for_release_v31.sql``) wrote where it was missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    plural: str
    klass: str
    computed: tuple[str, ...] = ("displayName", "href")
    required: tuple[str, ...] = ("name",)
    unique: tuple[str, ...] = ("code",)
    # reference properties: name -> (target plural, is_collection)
    references: dict[str, tuple[str, bool]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def simple_name(self) -> str:
        return self.klass.rsplit(".", 1)[1]


_IDENTIFIABLE_COMPUTED = ("displayName", "href")
_NAMEABLE_COMPUTED = ("displayName", "displayShortName", "displayDescription", "href")

_DATA_SET_DEFAULTS: dict[str, Any] = {
    "mobile": False,
    "version": 0,
    "expiryDays": 0,
    "timelyDays": 0,
    "notifyCompletingUser": False,
    "openFuturePeriods": 0,
    "openPeriodsAfterCoEndDate": 0,
    "fieldCombinationRequired": False,
    "validCompleteOnly": False,
    "noValueRequiresComment": False,
    "skipOffline": False,
    "dataElementDecoration": False,
    "renderAsTabs": False,
    "renderHorizontally": False,
    "compulsoryFieldsCompleteOnly": False,
}
_PROGRAM_STAGE_DEFAULTS: dict[str, Any] = {
    "repeatable": False,
    "minDaysFromStart": 0,
    "autoGenerateEvent": True,
    "validationStrategy": "ON_COMPLETE",
    "displayGenerateEventBox": True,
    "blockEntryForm": False,
    "preGenerateUID": False,
    "remindCompleted": False,
    "generatedByEnrollmentDate": False,
    "allowGenerateNextVisit": False,
    "openAfterEnrollment": False,
    "hideDueDate": False,
    "enableUserAssignment": False,
    "featureType": "NONE",
}
_PROGRAM_DEFAULTS: dict[str, Any] = {
    "version": 0,
    "displayIncidentDate": True,
    "ignoreOverdueEvents": False,
    "onlyEnrollOnce": False,
    "selectEnrollmentDatesInFuture": False,
    "selectIncidentDatesInFuture": False,
    "skipOffline": False,
    "displayFrontPageList": False,
    "useFirstStageDuringRegistration": False,
    "expiryDays": 0,
    "completeEventsExpiryDays": 0,
    "minAttributesRequiredToSearch": 1,
    "maxTeiCountToReturn": 0,
    "accessLevel": "OPEN",
    "featureType": "NONE",
}

KINDS: dict[str, Kind] = {
    k.plural: k
    for k in [
        Kind(
            "organisationUnits",
            "org.hisp.dhis.organisationunit.OrganisationUnit",
            computed=(
                *_NAMEABLE_COMPUTED,
                "children",
                "ancestors",
                "dataSets",
                "programs",
                "dimensionItem",
                "leaf",
            ),
            required=("name", "shortName", "openingDate"),
            unique=("code",),
            references={"parent": ("organisationUnits", False)},
        ),
        Kind(
            "organisationUnitLevels",
            "org.hisp.dhis.organisationunit.OrganisationUnitLevel",
            required=("name", "level"),
            unique=("code", "level"),
        ),
        Kind(
            "categoryOptions",
            "org.hisp.dhis.category.CategoryOption",
            computed=(*_NAMEABLE_COMPUTED, "categories", "categoryOptionCombos"),
            required=("name", "shortName"),
            unique=("code", "name", "shortName"),
        ),
        Kind(
            "categories",
            "org.hisp.dhis.category.Category",
            computed=(*_NAMEABLE_COMPUTED, "categoryCombos"),
            required=("name",),
            unique=("code", "name"),
            references={"categoryOptions": ("categoryOptions", True)},
        ),
        Kind(
            "categoryCombos",
            "org.hisp.dhis.category.CategoryCombo",
            computed=(*_IDENTIFIABLE_COMPUTED, "isDefault"),
            required=("name",),
            unique=("code", "name"),
            references={
                "categories": ("categories", True),
                "categoryOptionCombos": ("categoryOptionCombos", True),
            },
            defaults={"skipTotal": False},
        ),
        Kind(
            "categoryOptionCombos",
            "org.hisp.dhis.category.CategoryOptionCombo",
            computed=(*_IDENTIFIABLE_COMPUTED, "dimensionItem"),
            required=("name",),
            unique=("code",),
            references={
                "categoryCombo": ("categoryCombos", False),
                "categoryOptions": ("categoryOptions", True),
            },
            defaults={"ignoreApproval": False},
        ),
        Kind(
            "dataElements",
            "org.hisp.dhis.dataelement.DataElement",
            computed=(
                *_NAMEABLE_COMPUTED,
                "displayFormName",
                "dataSetElements",
                "dimensionItem",
                "optionSetValue",
            ),
            required=("name", "shortName", "valueType", "aggregationType", "domainType"),
            unique=("code", "name", "shortName"),
            references={"categoryCombo": ("categoryCombos", False)},
            defaults={"zeroIsSignificant": False},
        ),
        Kind(
            "dataElementGroups",
            "org.hisp.dhis.dataelement.DataElementGroup",
            computed=_NAMEABLE_COMPUTED,
            required=("name", "shortName"),
            unique=("code", "name", "shortName"),
            references={"dataElements": ("dataElements", True)},
        ),
        Kind(
            "dataSets",
            "org.hisp.dhis.dataset.DataSet",
            computed=(*_NAMEABLE_COMPUTED, "displayFormName", "dimensionItem"),
            required=("name", "shortName", "periodType"),
            unique=("code", "name", "shortName"),
            references={
                "categoryCombo": ("categoryCombos", False),
                "organisationUnits": ("organisationUnits", True),
            },
            defaults=_DATA_SET_DEFAULTS,
        ),
        Kind(
            "programs",
            "org.hisp.dhis.program.Program",
            computed=(*_NAMEABLE_COMPUTED, "registration", "withoutRegistration"),
            required=("name", "shortName", "programType"),
            unique=("code", "name", "shortName"),
            references={
                "categoryCombo": ("categoryCombos", False),
                "organisationUnits": ("organisationUnits", True),
                "programStages": ("programStages", True),
            },
            defaults=_PROGRAM_DEFAULTS,
        ),
        Kind(
            "programStages",
            "org.hisp.dhis.program.ProgramStage",
            computed=_NAMEABLE_COMPUTED,
            required=("name",),
            unique=("code",),
            references={"program": ("programs", False)},
            defaults=_PROGRAM_STAGE_DEFAULTS,
        ),
    ]
}

# Import order: an object's references must exist before it (dhis2-core
# ``SchemaService.getMetadataSchemas`` sorts by dependency the same way).
IMPORT_ORDER = [
    "organisationUnitLevels",
    "organisationUnits",
    "categoryOptions",
    "categories",
    "categoryCombos",
    "categoryOptionCombos",
    "dataElements",
    "dataElementGroups",
    "dataSets",
    "programs",
    "programStages",
]

BY_SIMPLE_NAME = {k.simple_name: k for k in KINDS.values()}

IDENTIFIABLE_FIELDS = ("id", "name", "code", "created", "lastUpdated")
NAMEABLE_FIELDS = (*IDENTIFIABLE_FIELDS, "shortName", "description")

DEFAULT_UIDS = {
    "categoryOptions": "xYerKDKCefk",
    "categories": "GLevLNI9wkl",
    "categoryCombos": "bjDvmb4bfuf",
    "categoryOptionCombos": "HllvX50cXC0",
}
