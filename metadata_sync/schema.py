"""The metadata types this app compares and syncs, and what it reads of each.

One `TypeSpec` per DHIS2 list endpoint. Two field lists per type, on purpose:

* `assess_fields`: only what matching and comparison need, so reading 50,000 org units stays a
  few megabytes per page;
* `payload_fields`: a whitelist of the properties a sync sends. A whitelist (not `:owner` minus
  a blacklist) is what keeps sharing, users, user groups, attribute values, legend sets and
  option sets out of the payload: each of those references objects the sync does not bring, and
  DHIS2 would refuse the whole import with E5002 for any one of them.

`ORDER` is the dependency order (referenced types first): matching runs in it so that a
reference can be compared through the match table of its type, and payloads list types in it,
as DHIS2's own `SchemaService.getMetadataSchemas` sorts them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_NAME",
    "DEFAULT_TYPES",
    "DEFAULT_UIDS",
    "KLASS_TO_TYPE",
    "MAPPING_TYPES",
    "ORDER",
    "SPECS",
    "TypeSpec",
    "validate_types",
]


@dataclass(frozen=True)
class TypeSpec:
    """How one metadata type is read, compared and sent."""

    type: str  # the /api/<type> list endpoint, also the key in a metadata payload
    klass: str  # the Java class DHIS2 names in import reports
    label: str
    assess_fields: str
    payload_fields: str
    # scalar properties whose difference makes a match a `conflict`
    compare: tuple[str, ...] = ()
    # single references compared through their type's matches: property -> referenced type
    compare_refs: tuple[tuple[str, str], ...] = ()


SPECS: dict[str, TypeSpec] = {
    s.type: s
    for s in [
        TypeSpec(
            "categoryOptions",
            "org.hisp.dhis.category.CategoryOption",
            "category options",
            "id,code,name",
            "id,code,name,shortName,formName,description,startDate,endDate",
        ),
        TypeSpec(
            "categories",
            "org.hisp.dhis.category.Category",
            "categories",
            "id,code,name,dataDimensionType",
            "id,code,name,shortName,description,dataDimensionType,dataDimension,"
            "categoryOptions[id]",
            compare=("dataDimensionType",),
        ),
        TypeSpec(
            "categoryCombos",
            "org.hisp.dhis.category.CategoryCombo",
            "category combos",
            "id,code,name,dataDimensionType",
            "id,code,name,dataDimensionType,skipTotal,categories[id],categoryOptionCombos[id]",
            compare=("dataDimensionType",),
        ),
        TypeSpec(
            "categoryOptionCombos",
            "org.hisp.dhis.category.CategoryOptionCombo",
            "category option combos",
            "id,code,name,categoryCombo[id,dataDimensionType],categoryOptions[id]",
            "id,code,name,ignoreApproval,categoryCombo[id],categoryOptions[id]",
            compare_refs=(("categoryCombo", "categoryCombos"),),
        ),
        TypeSpec(
            "organisationUnits",
            "org.hisp.dhis.organisationunit.OrganisationUnit",
            "organisation units",
            "id,code,name,level,parent[id]",
            "id,code,name,shortName,description,openingDate,closedDate,comment,url,"
            "contactPerson,address,email,phoneNumber,geometry,parent[id],path,level",
            compare=("level",),
            compare_refs=(("parent", "organisationUnits"),),
        ),
        TypeSpec(
            "dataElements",
            "org.hisp.dhis.dataelement.DataElement",
            "data elements",
            "id,code,name,valueType,aggregationType,domainType,categoryCombo[id]",
            "id,code,name,shortName,formName,description,valueType,aggregationType,domainType,"
            "zeroIsSignificant,url,categoryCombo[id]",
            compare=("valueType", "aggregationType", "domainType"),
            compare_refs=(("categoryCombo", "categoryCombos"),),
        ),
        TypeSpec(
            "dataSets",
            "org.hisp.dhis.dataset.DataSet",
            "data sets",
            "id,code,name,periodType,categoryCombo[id],dataSetElements[dataElement[id]],"
            "organisationUnits[id]",
            "id,code,name,shortName,description,periodType,openFuturePeriods,expiryDays,"
            "timelyDays,version,formType,categoryCombo[id],"
            "dataSetElements[dataElement[id],categoryCombo[id]],organisationUnits[id]",
            compare=("periodType",),
            compare_refs=(("categoryCombo", "categoryCombos"),),
        ),
        TypeSpec(
            "programs",
            "org.hisp.dhis.program.Program",
            "programs",
            "id,code,name,programType,categoryCombo[id]",
            "id,code,name,shortName,description,programType,version,categoryCombo[id],"
            "organisationUnits[id],programStages[id]",
            compare=("programType",),
            compare_refs=(("categoryCombo", "categoryCombos"),),
        ),
        TypeSpec(
            "programStages",
            "org.hisp.dhis.program.ProgramStage",
            "program stages",
            "id,code,name,program[id]",
            "id,code,name,description,repeatable,sortOrder,program[id],"
            "programStageDataElements[id,compulsory,sortOrder,dataElement[id]]",
            compare_refs=(("program", "programs"),),
        ),
    ]
}

ORDER: tuple[str, ...] = tuple(SPECS)
DEFAULT_TYPES: tuple[str, ...] = tuple(t for t in ORDER if t not in ("programs", "programStages"))
KLASS_TO_TYPE: dict[str, str] = {s.klass: s.type for s in SPECS.values()}

# DHIS2's fixed UIDs of the default category objects on a database created by 2.x
# (`DefaultCategoryService`, reference §10); older databases carry others, so these are only
# the first guess and `assess.detect_defaults` falls back to the name "default".
DEFAULT_UIDS: dict[str, str] = {
    "categoryOptions": "xYerKDKCefk",
    "categories": "GLevLNI9wkl",
    "categoryCombos": "bjDvmb4bfuf",
    "categoryOptionCombos": "HllvX50cXC0",
}
DEFAULT_NAME = "default"

# The mapping types a review produces (transfers map these); attribute option combos are
# category option combos of an attribute category combo.
MAPPING_TYPES: tuple[str, ...] = (
    "dataElements",
    "categoryOptionCombos",
    "attributeOptionCombos",
    "organisationUnits",
)


def validate_types(types: list[str] | tuple[str, ...]) -> list[str]:
    """The requested types in dependency order; unknown names raise `ValueError`."""
    unknown = [t for t in types if t not in SPECS]
    if unknown:
        raise ValueError(
            f"Unknown metadata type(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}."
        )
    wanted = set(types)
    return [t for t in ORDER if t in wanted]
