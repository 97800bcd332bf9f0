"""Metadata kinds the simulator serves: plural endpoint names, Java class names (for
``klass`` in import reports and for 404 messages) and property roles.

Property roles follow DHIS2's schema descriptors (``/api/schemas``): *owner* properties are
persisted on the object and are what ``fields=:owner`` returns and what a metadata import
accepts; *computed* properties (``displayName``, ``children``, ``ancestors``...) are derived on
read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    plural: str
    klass: str
    computed: tuple[str, ...] = ("displayName", "href")
    required: tuple[str, ...] = ("name",)
    unique: tuple[str, ...] = ("code",)
    # reference properties: name -> (target plural, is_collection)
    references: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @property
    def simple_name(self) -> str:
        return self.klass.rsplit(".", 1)[1]


_IDENTIFIABLE_COMPUTED = ("displayName", "href")
_NAMEABLE_COMPUTED = ("displayName", "displayShortName", "displayDescription", "href")

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
        ),
        Kind(
            "dataElements",
            "org.hisp.dhis.dataelement.DataElement",
            computed=(*_NAMEABLE_COMPUTED, "displayFormName", "dataSetElements", "dimensionItem"),
            required=("name", "shortName", "valueType", "aggregationType", "domainType"),
            unique=("code", "name", "shortName"),
            references={"categoryCombo": ("categoryCombos", False)},
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
        ),
        Kind(
            "programs",
            "org.hisp.dhis.program.Program",
            computed=_NAMEABLE_COMPUTED,
            required=("name", "shortName", "programType"),
            unique=("code", "name", "shortName"),
            references={
                "categoryCombo": ("categoryCombos", False),
                "organisationUnits": ("organisationUnits", True),
                "programStages": ("programStages", True),
            },
        ),
        Kind(
            "programStages",
            "org.hisp.dhis.program.ProgramStage",
            computed=_NAMEABLE_COMPUTED,
            required=("name",),
            unique=("code",),
            references={"program": ("programs", False)},
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
