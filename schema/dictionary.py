"""The harmonised data dictionary: the one source of truth for every variable the study collects.

Everything else is derived from :data:`VARIABLES` and :data:`ENTITIES`:

* the SQLAlchemy tables (:mod:`schema.tables`) and so the alembic migrations they are checked against,
* the pandera models (:mod:`schema.models`),
* the human-readable data dictionary and the canonical export template (:mod:`schema.docs`).

The study (Methods 2.1, Table 1) collects four kinds of record, one *entity* each:

``patient``
    baseline data at diagnosis (demographics, Paris classification, IFX history) - one per patient.
``assessment``
    the follow-up ileocolonoscopy done on an infusion day (clinical scores, treatment, SES-CD).
``elisa``
    the IFX trough level and antibodies to IFX (ATI) measured by ELISA on the pre-infusion sample.
``lab``
    laboratory results in long form, one row per patient, sample date and analyte; the analytes
    themselves are the ``lab`` variables below (their names are the analyte codes).

Numeric variables carry their canonical unit in their name (``crp_mg_dl``).  A centre that exports
the canonical template (one wide row per patient and assessment) needs no mapping at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DTYPES = ("str", "code", "bool", "int", "float", "date", "datetime")


@dataclass(frozen=True)
class Variable:
    """One harmonised variable.

    ``entity`` is where the value is stored; ``entity == "lab"`` marks an analyte, stored long in
    ``lab.value`` with ``lab.analyte == name`` but exported as its own column in the wide template.
    """

    name: str
    entity: str
    dtype: str
    description: str
    unit: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    codes: tuple[str, ...] | None = None
    code_labels: dict[str, str] = field(default_factory=dict)
    in_template: bool = True
    label: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"{self.name}: dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.dtype == "code" and not self.codes:
            raise ValueError(f"{self.name}: a code variable needs its codes")

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    key: tuple[str, ...]
    description: str


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("patient", "patients", ("centre_id", "patient_id"),
               "Baseline demographics and disease phenotype at diagnosis; IFX treatment start."),
        Entity("assessment", "assessments", ("centre_id", "patient_id", "colonoscopy_date"),
               "Follow-up ileocolonoscopy on an IFX infusion day, with clinical data at that point."),
        Entity("elisa", "elisa_results", ("centre_id", "patient_id", "trough_sample_datetime"),
               "IFX trough level and antibodies to IFX from the pre-infusion serum sample (ELISA)."),
        Entity("lab", "lab_results", ("centre_id", "patient_id", "sample_date", "analyte"),
               "Laboratory results in long form, one row per patient, sample date and analyte."),
    )
}

_BOOL = "bool"


def _v(*args, **kwargs) -> Variable:
    return Variable(*args, **kwargs)


# Identity columns shared by every entity (listed once per entity so each table is complete).
def _identity(entity: str) -> list[Variable]:
    return [
        _v("centre_id", entity, "str", "Study centre code (from the centre profile, never from the file).",
           required=True, in_template=entity == "patient", label="Centre"),
        _v("patient_id", entity, "str",
           "Pseudonymised patient identifier (keyed hash of the centre's study number).",
           required=True, in_template=entity == "patient", label="Patient"),
    ]


PATIENT: list[Variable] = _identity("patient") + [
    _v("sex", "patient", "code", "Sex.", required=True, codes=("M", "F"),
       code_labels={"M": "male", "F": "female"}, label="Sex"),
    _v("birth_date", "patient", "date", "Date of birth.", required=True, label="Birth date"),
    _v("diagnosis_date", "patient", "date", "Date of IBD diagnosis (revised Porto criteria).",
       required=True, label="Diagnosis date"),
    _v("diagnosis_type", "patient", "code",
       "IBD type at inclusion: Crohn's disease or IBD-unclassified (IBD-U is excluded).",
       required=True, codes=("CD", "IBD-U"), label="Diagnosis"),
    _v("paris_age", "patient", "code", "Paris age at diagnosis: A1a <10 y, A1b 10-<17 y, A2 17-40 y.",
       codes=("A1a", "A1b", "A2"), label="Paris age"),
    _v("paris_location", "patient", "code",
       "Paris location: L1 distal 1/3 ileum +/- limited caecal, L2 colonic, L3 ileocolonic.",
       required=True, codes=("L1", "L2", "L3"), label="Lower GI tract involvement (Paris)"),
    _v("paris_upper", "patient", "code",
       "Paris upper GI involvement: none, L4a proximal to Treitz, L4b distal to Treitz, L4ab both.",
       required=True, codes=("none", "L4a", "L4b", "L4ab"), label="Upper GI tract involvement (Paris)"),
    _v("paris_behaviour", "patient", "code",
       "Paris behaviour: B1 non-stricturing non-penetrating, B2 stricturing, B3 penetrating, B2B3 both.",
       required=True, codes=("B1", "B2", "B3", "B2B3"), label="Disease behaviour (Paris)"),
    _v("paris_perianal", "patient", "bool", "Perianal disease modifier (p).", required=True,
       label="Perianal modifier"),
    _v("paris_growth", "patient", "code", "Paris growth: G0 no, G1 linear growth failure.",
       required=True, codes=("G0", "G1"), label="Growth"),
    _v("family_history_ibd", "patient", "bool", "Family history of IBD.", label="Family history of IBD"),
    _v("ifx_start_date", "patient", "date", "Date of the first IFX infusion.", required=True,
       label="IFX start"),
    _v("ifx_indication", "patient", "code",
       "Indication for IFX: luminal disease, or refractory perianal fistula (excluded).",
       required=True, codes=("luminal", "perianal_fistula"), label="IFX indication"),
    _v("anti_tnf_naive", "patient", "bool", "No anti-TNF agent before IFX.", label="Anti-TNF naive"),
]

ASSESSMENT: list[Variable] = _identity("assessment") + [
    _v("colonoscopy_date", "assessment", "date", "Date of the follow-up ileocolonoscopy.",
       required=True, label="Colonoscopy date"),
    _v("infusion_date", "assessment", "date",
       "Date of the IFX infusion given after the colonoscopy (same day by protocol).",
       required=True, label="Infusion date"),
    _v("n_infusions", "assessment", "int", "Number of IFX infusions before the colonoscopy.",
       unit="infusions", required=True, min=1, max=300, label="Number of IFX infusions"),
    _v("dose_intensification", "assessment", "bool", "Dose intensified during IFX treatment.",
       required=True, label="Dose intensification"),
    _v("concomitant_aza", "assessment", "bool", "Concomitant azathioprine.", required=True,
       label="Concomitant AZA"),
    _v("corticosteroids", "assessment", "bool", "Corticosteroid use during IFX treatment.",
       label="Corticosteroids during IFX"),
    _v("gi_surgery", "assessment", "bool", "Any lifelong CD-related GI tract surgery.",
       label="CD-related GI surgery"),
    _v("pcdai", "assessment", "float", "Paediatric Crohn's Disease Activity Index.", unit="points",
       required=True, min=0, max=100, label="PCDAI"),
    _v("ses_cd_total", "assessment", "int", "Simple Endoscopic Score for CD, total.", unit="points",
       required=True, min=0, max=56, label="SES-CD"),
    _v("ses_cd_ileum", "assessment", "int", "SES-CD ileum segment score.", unit="points", min=0, max=12,
       label="SES-CD ileum"),
    _v("ses_cd_right_colon", "assessment", "int", "SES-CD right colon segment score.", unit="points",
       min=0, max=12, label="SES-CD right colon"),
    _v("ses_cd_transverse_colon", "assessment", "int", "SES-CD transverse colon segment score.",
       unit="points", min=0, max=12, label="SES-CD transverse colon"),
    _v("ses_cd_left_colon", "assessment", "int", "SES-CD left colon segment score.", unit="points",
       min=0, max=12, label="SES-CD left colon"),
    _v("ses_cd_rectum", "assessment", "int", "SES-CD rectum segment score.", unit="points", min=0, max=12,
       label="SES-CD rectum"),
]

SES_CD_SEGMENTS: tuple[str, ...] = (
    "ses_cd_ileum", "ses_cd_right_colon", "ses_cd_transverse_colon", "ses_cd_left_colon", "ses_cd_rectum",
)

ELISA: list[Variable] = _identity("elisa") + [
    _v("trough_sample_datetime", "elisa", "datetime",
       "Time the trough serum sample was drawn (immediately before the infusion).", required=True,
       label="Trough sample time"),
    _v("assay_name", "elisa", "str", "ELISA kit used (e.g. Matriks Biotek Shikari Q-INFLIXI).",
       required=True, label="Assay"),
    _v("trough_ug_ml", "elisa", "float",
       "IFX trough level. For a censored result this is the limit itself (see trough_censor), never 0.",
       unit="ug/mL", required=True, min=0, max=200, label="IFX trough level"),
    _v("trough_censor", "elisa", "code",
       "'=' quantified; '<' below the lower limit of quantification; '>' above the upper limit.",
       required=True, codes=("=", "<", ">"), in_template=False, label="Trough censoring"),
    _v("lloq_ug_ml", "elisa", "float", "Assay lower limit of quantification.", unit="ug/mL",
       required=True, min=0, max=50, label="LLOQ"),
    _v("uloq_ug_ml", "elisa", "float", "Assay upper limit of quantification.", unit="ug/mL",
       min=0, max=500, label="ULOQ"),
    _v("ati_status", "elisa", "code", "Antibodies to IFX.", required=True,
       codes=("positive", "negative"), label="ATI"),
    _v("ati_titre_ng_ml", "elisa", "float", "ATI titre where reported.", unit="ng/mL", min=0, max=100000,
       label="ATI titre"),
    _v("ati_cutoff_ng_ml", "elisa", "float", "Assay positivity cut-off for ATI, where reported.",
       unit="ng/mL", min=0, max=10000, label="ATI cut-off"),
]

# The long lab table's own columns; its analytes are the LAB_ANALYTES below.
LAB: list[Variable] = _identity("lab") + [
    _v("sample_date", "lab", "date", "Date the blood sample was drawn.", required=True,
       in_template=False, label="Sample date"),
    _v("analyte", "lab", "str", "Analyte code: the name of one of the lab variables.", required=True,
       in_template=False, label="Analyte"),
    _v("value", "lab", "float", "Result in the analyte's canonical unit.", required=True,
       in_template=False, label="Value"),
]

LAB_ANALYTES: list[Variable] = [
    _v("wbc_per_ul", "lab", "float", "White blood cell count.", unit="/uL", min=500, max=50000,
       label="WBC"),
    _v("haematocrit_pct", "lab", "float", "Haematocrit.", unit="%", min=15, max=65, label="Haematocrit"),
    _v("platelets_10e3_ul", "lab", "float", "Platelet count.", unit="10^3/uL", min=20, max=1500,
       label="Platelet count"),
    _v("albumin_g_dl", "lab", "float", "Serum albumin.", unit="g/dL", min=1.0, max=6.0, label="Albumin"),
    _v("esr_mm_h", "lab", "float", "Erythrocyte sedimentation rate.", unit="mm/h", min=0, max=150,
       label="ESR"),
    _v("crp_mg_dl", "lab", "float", "C-reactive protein.", unit="mg/dL", min=0, max=50, label="CRP"),
    _v("tgn6_pmol_8e8_rbc", "lab", "float", "6-thioguanine nucleotides.", unit="pmol/8x10^8 RBC",
       min=0, max=3000, label="6-TGN"),
]

# In the wide template the lab panel carries its own date column.
LAB_DATE_COLUMN = "lab_date"

VARIABLES: list[Variable] = PATIENT + ASSESSMENT + ELISA + LAB + LAB_ANALYTES
BY_ENTITY: dict[str, list[Variable]] = {
    "patient": PATIENT,
    "assessment": ASSESSMENT,
    "elisa": ELISA,
    "lab": LAB,
}
ANALYTES: dict[str, Variable] = {v.name: v for v in LAB_ANALYTES}


def entity_columns(entity: str) -> list[str]:
    """Column names of one harmonised entity, in dictionary order."""
    try:
        return [v.name for v in BY_ENTITY[entity]]
    except KeyError:
        raise ValueError(f"unknown entity {entity!r}; valid: {', '.join(BY_ENTITY)}") from None


def variable(entity: str, name: str) -> Variable:
    for v in BY_ENTITY[entity]:
        if v.name == name:
            return v
    if entity == "lab" and name in ANALYTES:
        return ANALYTES[name]
    raise KeyError(f"{entity}.{name}")


def template_columns() -> list[str]:
    """Headers of the canonical wide export: one row per patient and follow-up assessment.

    Identity first, then patient, assessment, ELISA, the lab date and one column per analyte.
    ``centre_id`` is not in the template: the centre is the inbox the file was dropped in.
    """
    cols: list[str] = []
    for v in PATIENT + ASSESSMENT + ELISA:
        if v.in_template and v.name not in cols and v.name != "centre_id":
            cols.append(v.name)
    cols.append(LAB_DATE_COLUMN)
    cols.extend(v.name for v in LAB_ANALYTES)
    return cols


__all__ = [
    "Variable",
    "Entity",
    "ENTITIES",
    "VARIABLES",
    "BY_ENTITY",
    "PATIENT",
    "ASSESSMENT",
    "ELISA",
    "LAB",
    "LAB_ANALYTES",
    "ANALYTES",
    "SES_CD_SEGMENTS",
    "LAB_DATE_COLUMN",
    "entity_columns",
    "variable",
    "template_columns",
]
