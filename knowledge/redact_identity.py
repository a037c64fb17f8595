"""Identity data for knowledge.redact: national id numbers, identity documents, dates of birth, IP addresses.

Each finder returns the spans to hide; knowledge.redact decides the order and the placeholders. Checks come from
python-stdnum; a bare digit run counts only right after the word that names it (or, for an 11-check BSN, alone).
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from stdnum.be import nn as be_nn
from stdnum.br import cpf as br_cpf
from stdnum.ca import sin as ca_sin
from stdnum.de import idnr as de_idnr
from stdnum.dk import cpr as dk_cpr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fi import hetu as fi_hetu
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.no import fodselsnummer as no_fnr
from stdnum.pl import pesel as pl_pesel
from stdnum.se import personnummer as se_pnr
from stdnum.us import ssn as us_ssn

Span = tuple[int, int]


# ----- national ids (stdnum checks) -------------------------------------------------------------------------------

def _valid(module: Any, value: str) -> bool:
    try:
        return bool(module.is_valid(value))
    except Exception:
        return False


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/+]", "", value)


# Formats distinctive enough to hide without a keyword: (pattern, check on the matched text).
_ID_FORMATS: tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...] = (
    # SSN with separators: the SSA's area/group/serial rules (stdnum also refuses numbers once printed in
    # advertisements, such as 078-05-1120, which people then used as their own: hidden all the same).
    (re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])"), lambda v: True),
    (re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
     lambda v: True),
    (re.compile(r"(?<![\w-])(?:19|20)?\d{6}[-+]\d{4}(?![\w-])|(?<![\w-])(?:19|20)\d{10}(?![\w-])"),
     lambda v: _valid(se_pnr, v)),
    (re.compile(r"(?<![\w.-])\d{4}\.\d{2}\.\d{3}(?![\w-]|\.\d)"), lambda v: _valid(nl_bsn, v)),
    (re.compile(r"(?<![\w-])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w-])"),
     lambda v: _valid(fr_nir, _compact(v))),
    (re.compile(r"(?<![\w-])\d{8}-?[A-Z]\b"), lambda v: _valid(es_dni, v)),
    (re.compile(r"(?<![\w-])[XYZ]-?\d{7}-?[A-Z]\b"), lambda v: _valid(es_nie, v)),
    (re.compile(r"(?<![\w-])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b"), lambda v: _valid(fi_hetu, v)),
    (re.compile(r"(?<![\w-])\d{6} ?\d{5}(?![\w-])"), lambda v: _valid(no_fnr, _compact(v))),
    (re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b"), lambda v: _valid(it_cf, v)),
    (re.compile(r"(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w-])"), lambda v: _valid(br_cpf, v)),
    (re.compile(r"(?<![\w-])\d{6}-\d{4}(?![\w-])"), lambda v: _valid(dk_cpr, v)),
    (re.compile(r"(?<![\w.-])\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}(?![\w-])"), lambda v: _valid(be_nn, v)),
    # A nine-digit 11-check number is a BSN as often as not; order numbers are kept by their own word first.
    (re.compile(r"(?<![\w.,/+-])\d{9}(?![\w-]|[.,]\d)"), lambda v: _valid(nl_bsn, v)),
)
_ID_WORD = re.compile(
    r"(?i:\b(?:ssn|social security(?: number| no\.?)?|sin|personnummer|personnr|pnr|bsn|burgerservicenummer|"
    r"sofi-?nummer|steuer-?id|steuer-?identifikationsnummer|identifikationsnummer|idnr|pesel|cpf|cpr(?:-nummer)?|"
    r"rijksregisternummer|nir|sécurité sociale|codice fiscale|cf|dni|nie|hetu|henkilötunnus|fødselsnummer|"
    r"fnr|national insurance(?: number)?|ni number|nino)\b)[^\w\n]{0,4}(?:(?i:is|är|er|es|est|ist|é|è|nummer|"
    r"number|no\.?|nr\.?)[^\w\n]{0,3})*"
    r"([A-Z0-9](?:[A-Z0-9]|[ .\-](?=[A-Z0-9])){5,22})")
_ID_VALIDATORS = (us_ssn, se_pnr, nl_bsn, fr_nir, es_dni, es_nie, fi_hetu, no_fnr, it_cf, br_cpf, de_idnr,
                  be_nn, dk_cpr, pl_pesel, ca_sin)


def national_id_spans(text: str) -> Iterator[Span]:
    for pattern, check in _ID_FORMATS:
        yield from (m.span() for m in pattern.finditer(text) if check(m.group(0)))
    for match in _ID_WORD.finditer(text):
        value = match.group(1)
        if any(_valid(v, _compact(value)) or _valid(v, value) for v in _ID_VALIDATORS):
            yield match.span(1)


# ----- identity documents: passport, identity card, driving licence, after the word that names them -------------

_DOC_WORD = (r"passport|pass|reisepass\w*|passnummer|passeport|pasaporte|paspoort\w*|passaporto|passaporte|"
             r"id[- ]?card|identity card|personalausweis\w*|ausweis\w*|carte d'identité|cni|identiteitskaart|"
             r"id-kaart|carta d'identità|documento de identidad|cartão de cidadão|"
             r"driver'?s licen[cs]e|driving licen[cs]e|führerschein\w*|permis de conduire|licencia de conducir|"
             r"carnet de conducir|rijbewijs\w*|patente|körkort")
_DOC = re.compile(rf"(?i:\b(?:{_DOC_WORD}))(?i:[^\w\n]{{0,3}}(?:number|nummer|numéro|número|numero|nr\.?|no\.?|"
                  r"n[°º]\.?|is|es|est|ist|är|è|é|do|de|di)[^\w\n]{0,3})*[^\w\n]{0,3}"
                  r"([A-Z0-9]{6,20})\b")


def document_spans(text: str) -> Iterator[Span]:
    for match in _DOC.finditer(text):
        if sum(c.isdigit() for c in match.group(1)) >= 3:
            yield match.span(1)


# ----- dates of birth ---------------------------------------------------------------------------------------------

_MONTHS = (r"jan\w*|feb\w*|f[ée]v\w*|m[aä]r\w*|apr\w*|avr\w*|abr\w*|ma[iy]\w*|mei|maj|mag\w*|jun\w*|juin|"
           r"jui?l\w*|lug\w*|aug\w*|ao[uû]t|ago\w*|sep\w*|set\w*|o[ck]t\w*|out\w*|nov\w*|de[cczs]\w*|d[ée]c\w*|"
           r"dic\w*|dez\w*|ene\w*|gen\w*|giu\w*|janv\w*|févr\w*|mars|maart|juni|juli|okt\w*|mrt")
_DATE = (rf"\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|"
         rf"\d{{1,2}}\.?(?: de)? (?i:{_MONTHS})(?: de)? \d{{4}}|(?i:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}")
_BIRTH_WORD = (r"date of birth|birth ?date|birthday|d\.?o\.?b\.?|born(?: on)?|geburtsdatum|geburtstag|geboren(?: am)?|"
               r"geb\.|n[ée]e? le|date de naissance|naissance|fecha de nacimiento|nac[ií]d[oa](?: el)?|nac[ií] el|"
               r"geboortedatum|geboren op|född(?: den)?|födelsedatum|data di nascita|nat[oa] il|"
               r"data de nascimento|nasci(?:d[oa])?(?: em)?|fødselsdato|født|syntymäaika")
_DOB_AFTER = re.compile(rf"(?i:\b(?:{_BIRTH_WORD}))[^\w\n]{{0,4}}(?:(?i:is|was|am|on|le|el|em|il|den)\s)?({_DATE})")
_DOB_BEFORE = re.compile(rf"({_DATE})(?:\s+\w+){{0,2}}\s+(?i:geboren|born|né|née|nacid[oa]|född)\b")


def dob_spans(text: str) -> Iterator[Span]:
    yield from (m.span(1) for m in _DOB_AFTER.finditer(text))
    yield from (m.span(1) for m in _DOB_BEFORE.finditer(text))


# ----- IP addresses -----------------------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_VERSION_WORD = re.compile(r"(?i:\b(?:version|ver|v|firmware|build|release|update|app|os|ios|android|rev)\.?\s*)$")


def ip_spans(text: str) -> Iterator[Span]:
    for match in _IPV4.finditer(text):
        if _VERSION_WORD.search(text[max(0, match.start() - 20):match.start()]):
            continue
        try:
            ipaddress.IPv4Address(match.group(0))
        except ValueError:
            continue
        yield match.span()
    for match in _IPV6.finditer(text):
        value = match.group(0)
        if value.count(":") < 2 or sum(c.isalnum() for c in value) < 3:
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield match.span()
