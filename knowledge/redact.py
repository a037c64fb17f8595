"""Personal data out of text before it is embedded, stored or shown to a model: `redact(text) -> Redacted`.

One module for every caller (knowledge sync for past tickets, the drafting layer before Claude). Deterministic
regular expressions plus checksums, no model: an identifier is replaced only when its pattern AND its check agree.

What is found, with the check that keeps near-misses (order numbers, prices, dates, tracking numbers) out:
- [URL]: a link carrying a secret (a query parameter named like token/key/signature/password, credentials before
  the host, or a long random-looking path or query value). Plain help-center links stay: they are useful grounding.
- [EMAIL]: local@domain.tld.
- [IBAN]: country code, two check digits, 11-30 letters/digits; ISO 13616 mod-97 must give 1 and the length must
  be the country's.
- [CARD]: 13-19 digits, in one run or consistent groups of spaces/dashes; a card-network first digit (2-6) and the
  Luhn check. A 20-22 digit USPS tracking number, or a 16-digit number failing Luhn, is not a card.
- [NATIONAL_ID]: US SSN (area/group/serial rules, written with separators), UK National Insurance number, Swedish
  personnummer (a real date and the Luhn digit), Dutch BSN (11-check, and only next to a word that names it: nine
  digits alone are too often an order number), French NIR (mod-97 key), Spanish DNI/NIE (check letter), Finnish
  HETU (mod-31 check character), Norwegian fodselsnummer (both mod-11 digits).
- [PHONE]: international (+ or 00, 8-15 digits), North American (3-3-4 with separators), European national formats
  with a leading 0 (9-12 digits, grouped or not), or any 7-15 digit number right after a word like "phone"/"tel"/
  "Telefon"/"mobil". A price, a date or an order number without a leading 0 is not a phone number.
- [ADDRESS]: a street line: house number + street word (English, French) or street word + house number (German,
  Dutch, Swedish compounds like -straße/-straat/-gatan, Spanish "Calle ... 12"). Postcodes and cities alone stay.

Detectors run in the order above; an earlier match wins any overlap (a card inside a URL is the URL's).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

Span = tuple[int, int]


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: Mapping[str, int] = field(default_factory=dict)  # placeholder label ("EMAIL") -> replacements

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# ----- URLs with secrets ----------------------------------------------------------------------------------------

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.I)
_SECRET_PARAM = re.compile(
    r"(?:^|[?&;#])(?:[\w.-]*?(?:token|secret|passw(?:or)?d|pwd|signature|sig|auth|session|sid|otp|code|key|"
    r"credential|jwt|hash|nonce)[\w.-]*)=([^&;#\s]+)", re.I)
_USERINFO = re.compile(r"^(?:https?://)[^/@\s]+:[^/@\s]+@", re.I)
_RANDOM_PIECE = re.compile(r"[A-Za-z0-9_\-]{20,}")


def _looks_random(piece: str) -> bool:
    # A slug like "how-to-reset-your-password-123" is words; a token mixes letters and digits densely.
    if "-" in piece and all(part.isalpha() or part.isdigit() for part in piece.split("-") if part):
        return False
    digits = sum(c.isdigit() for c in piece)
    letters = sum(c.isalpha() for c in piece)
    return digits >= 3 and letters >= 3 and not piece.isdigit()


def _url_with_secret(match: re.Match[str]) -> bool:
    url = match.group(0)
    if _USERINFO.match(url):
        return True
    if any(len(value) >= 4 for value in _SECRET_PARAM.findall(url)):
        return True
    return any(_looks_random(piece) for piece in _RANDOM_PIECE.findall(url))


# ----- email ------------------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")


# ----- IBAN -------------------------------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18,
    "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
    "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
    "UA": 29, "VG": 24, "XK": 20,
}
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.I)


def iban_valid(candidate: str) -> bool:
    """ISO 13616: the country's length, and the rearranged number mod 97 is 1."""
    code = re.sub(r"\s", "", candidate).upper()
    if IBAN_LENGTHS.get(code[:2]) != len(code) or not code.isalnum():
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _iban_spans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        # The pattern may run into a following word ("... NL91ABNA0417164300 please"): trim to the country length.
        raw = match.group(0)
        length = IBAN_LENGTHS.get(raw[:2].upper())
        if length is None:
            continue
        seen, end = 0, 0
        for end, char in enumerate(raw, 1):
            seen += char != " "
            if seen == length:
                break
        if seen == length and iban_valid(raw[:end]) and (end == len(raw) or raw[end] == " "):
            yield match.start(), match.start() + end


# ----- payment cards ----------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5})(?![\w-])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for n, char in enumerate(reversed(digits)):
        d = int(char)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_spans(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            yield match.span()


# ----- national ids -----------------------------------------------------------------------------------------------

_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_UK_NINO = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.I)
_SE_PNR = re.compile(r"(?<![\w-])((?:19|20)?)(\d{6})([-+]?)(\d{4})(?![\w-])")
_NL_BSN = re.compile(
    r"\b(?:BSN|burgerservicenummer|sofinummer|sofi-nummer|citizen service number)\b[^\d\n]{0,20}(\d{4}\.?\d{2}\.?\d{3}|\d{9})\b",
    re.I)
_FR_NIR = re.compile(r"(?<![\w-])([12])[ ]?(\d{2})[ ]?(\d{2})[ ]?(\d{2}|2[AB])[ ]?(\d{3})[ ]?(\d{3})[ ]?(\d{2})(?![\w-])", re.I)
_ES_DNI = re.compile(r"(?<![\w-])([XYZ]?)(\d{7,8})-?([A-Z])\b")
_FI_HETU = re.compile(r"(?<![\w-])(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])\b")
_NO_FNR = re.compile(r"(?<![\w-])(\d{6}) ?(\d{5})(?![\w-])")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
HETU_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _se_personnummer(match: re.Match[str]) -> bool:
    century, yymmdd, separator, tail = match.groups()
    if not century and not separator:  # ten bare digits is as often a phone number (070...) as an id
        return False
    day = int(yymmdd[4:6])
    day = day - 60 if day > 60 else day  # samordningsnummer: day + 60
    year = int((century or "19") + yymmdd[:2])
    return _real_date(year, int(yymmdd[2:4]), day) and luhn_valid(yymmdd + tail)


def _bsn_valid(digits: str) -> bool:
    digits = digits.replace(".", "")
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0 and digits != "000000000"


def _nir_valid(match: re.Match[str]) -> bool:
    sex, yy, mm, dept, commune, order, key = match.groups()
    if not (1 <= int(mm) <= 12 or 20 <= int(mm) <= 42):  # 20-42: unknown month, as INSEE allows
        return False
    dept_number = {"2A": "19", "2B": "18"}.get(dept.upper(), dept)
    number = int(sex + yy + mm + dept_number + commune + order)
    return 97 - number % 97 == int(key)


def _dni_valid(match: re.Match[str]) -> bool:
    prefix, digits, letter = match.groups()
    if prefix:  # NIE: X/Y/Z stand for 0/1/2
        if len(digits) != 7:
            return False
        digits = str("XYZ".index(prefix)) + digits
    elif len(digits) != 8:
        return False
    return DNI_LETTERS[int(digits) % 23] == letter


def _hetu_valid(match: re.Match[str]) -> bool:
    ddmmyy, sign, individual, check = match.groups()
    century = {"+": 1800, "-": 1900, "A": 2000}.get(sign, 1900 if sign in "UVWXY" else 2000)
    if not _real_date(century + int(ddmmyy[4:6]), int(ddmmyy[2:4]), int(ddmmyy[:2])):
        return False
    return HETU_CHARS[int(ddmmyy + individual) % 31] == check


def _fnr_valid(match: re.Match[str]) -> bool:
    digits = match.group(1) + match.group(2)
    day, month = int(digits[:2]), int(digits[2:4])
    day = day - 40 if day > 40 else day  # D-nummer
    if not _real_date(2000 + int(digits[4:6]), month, day) and not _real_date(1900 + int(digits[4:6]), month, day):
        return False
    numbers = [int(d) for d in digits]
    k1 = 11 - sum(n * w for n, w in zip(numbers, (3, 7, 6, 1, 8, 9, 4, 5, 2))) % 11
    k2 = 11 - sum(n * w for n, w in zip(numbers, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))) % 11
    k1, k2 = (0 if k == 11 else k for k in (k1, k2))
    return k1 == numbers[9] and k2 == numbers[10]


def _national_id_spans(text: str) -> Iterator[Span]:
    yield from (m.span() for m in _SSN.finditer(text))
    yield from (m.span() for m in _UK_NINO.finditer(text))
    yield from (m.span() for m in _SE_PNR.finditer(text) if _se_personnummer(m))
    yield from (m.span(1) for m in _NL_BSN.finditer(text) if _bsn_valid(m.group(1)))
    yield from (m.span() for m in _FR_NIR.finditer(text) if _nir_valid(m))
    yield from (m.span() for m in _ES_DNI.finditer(text) if _dni_valid(m))
    yield from (m.span() for m in _FI_HETU.finditer(text) if _hetu_valid(m))
    yield from (m.span() for m in _NO_FNR.finditer(text) if _fnr_valid(m))


# ----- phone numbers ----------------------------------------------------------------------------------------------

_SEP = r"[ .\-/]?"
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-/]?\(0\))?(?:[ .\-/]?(?:\(\d{1,5}\)|\d{1,5})){2,7}(?![\w])")
_NANP = re.compile(r"(?<![\w(])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\w-])")
_NATIONAL = re.compile(r"(?<![\w.,/+-])\(?0[1-9]\d{0,3}\)?(?:[ .\-/]\d{2,8}){1,4}(?![\w-]|[.,]\d)")
_COMPACT = re.compile(r"(?<![\w.,+-])0[1-9]\d{8,10}(?![\w-]|[.,]\d)")
_PHONE_WORD = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|ring|sms|whatsapp|fax|telefon|telefonnummer|handy|mobil|"
    r"téléphone|portable|teléfono|móvil|telefoon|mobiel|mobilnummer|telefonnummer)\b\.?:?[ \t]*(?:is|on|at|ist|est|es|är|)[ \t]*:?[ \t]*"
    r"(\+?\(?\d[\d ().\-/]{5,20}\d)", re.I)


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _phone_spans(text: str) -> Iterator[Span]:
    for match in _INTERNATIONAL.finditer(text):
        value = match.group(0)
        digits = _digit_count(value) - (2 if value.startswith("00") else 0)
        if (9 if value.startswith("00") else 8) <= digits <= 15:  # 0012-3456-78 is a SKU, not a call to +12
            yield match.span()
    yield from (m.span() for m in _NANP.finditer(text))
    for match in _NATIONAL.finditer(text):
        value = match.group(0)
        # 01.02.2024 is a date: phone groups are not day/month/year shaped.
        if 9 <= _digit_count(value) <= 12 and not re.fullmatch(r"\d{2}([./-])\d{2}\1\d{2,4}", value):
            yield match.span()
    yield from (m.span() for m in _COMPACT.finditer(text))
    for match in _PHONE_WORD.finditer(text):
        if 7 <= _digit_count(match.group(1)) <= 15:
            yield match.span(1)


# ----- street addresses -------------------------------------------------------------------------------------------

_CAP = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’.-]*"
_EN_STREET = (r"Street|Avenue|Road|Boulevard|Lane|Drive|Court|Place|Square|Terrace|Way|Close|Crescent|Parkway|"
              r"Highway|Gardens|Grove|Mews|Row|Walk|Hill|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy)\b\.?")
_EN_ADDRESS = re.compile(
    rf"(?<![\w.,])\d{{1,5}}[A-Za-z]?,? (?:{_CAP} ){{1,4}}(?:{_EN_STREET})(?!\w)"
    r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|#) ?[\w-]+)?")
_FR_ADDRESS = re.compile(
    r"(?<![\w.,])\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|"
    rf"cours|square) (?:(?:de la|de l'|du|des|de|d'|la|le|les|l') ?)*{_CAP}(?: {_CAP}){{0,3}}", re.I)
# Compounds: Hauptstraße 5, Keizersgracht 123, Drottninggatan 53; an optional first word: "Berliner Straße 12".
_SUFFIX_STREET = (r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|"
                  r"straat|laan|gracht|plein|kade|singel|dijk|steeg|hof|"
                  r"gatan|vägen|gränd|torget|stigen|allén|backen|plan")
_SUFFIX_ADDRESS = re.compile(
    rf"(?<![\w-])(?:{_CAP} )?(?:{_CAP}(?:{_SUFFIX_STREET})|(?:Straße|Strasse|Weg|Platz|Allee|Laan|Gatan))"
    r" \d{1,4}(?: ?[a-zA-Z]\b)?", re.U)
_ES_ADDRESS = re.compile(
    r"\b(?:Calle|C/|Avenida|Avda\.?|Plaza|Pza\.?|Paseo|Camino|Carretera|Ronda|Travesía|Rúa) "
    rf"(?:(?:de la|de los|de las|del|de|la|el|los|las) )*{_CAP}(?: {_CAP}){{0,3}},? (?:n[º°o]\.? ?)?\d{{1,4}}\b")


def _address_spans(text: str) -> Iterator[Span]:
    for pattern in (_EN_ADDRESS, _FR_ADDRESS, _SUFFIX_ADDRESS, _ES_ADDRESS):
        yield from (m.span() for m in pattern.finditer(text))


# ----- the pipeline -----------------------------------------------------------------------------------------------

def _url_spans(text: str) -> Iterator[tuple[Span, bool]]:
    """Every URL, marked True when it carries a secret; kept URLs still claim their span (cards inside stay)."""
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in ".,;:!?":  # sentence punctuation after a link
            end -= 1
        trimmed = re.match(_URL.pattern, text[match.start():end], re.I)
        yield (match.start(), end), bool(trimmed) and _url_with_secret(trimmed)  # type: ignore[arg-type]


DETECTORS: tuple[tuple[str, Callable[[str], Iterator[Span]]], ...] = (
    ("EMAIL", lambda text: (m.span() for m in _EMAIL.finditer(text))),
    ("IBAN", _iban_spans),
    ("CARD", _card_spans),
    ("NATIONAL_ID", _national_id_spans),
    ("PHONE", _phone_spans),
    ("ADDRESS", _address_spans),
)


def redact(text: str) -> Redacted:
    """Replace personal data in text with typed placeholders like [EMAIL]; see the module docstring for what."""
    taken: list[tuple[int, int, str | None]] = []  # (start, end, label); None keeps the text (a harmless URL)

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in taken)

    for (start, end), secret in _url_spans(text):
        if secret:
            taken.append((start, end, "URL"))
        else:  # a harmless link: emails inside it are still redacted, other detectors leave it alone
            for m in _EMAIL.finditer(text, start, end):
                taken.append((m.start(), m.end(), "EMAIL"))
            taken.append((start, end, None))
    for label, find in DETECTORS:
        for start, end in sorted(find(text), key=lambda s: (s[0], -s[1])):
            if start < end and free(start, end):
                taken.append((start, end, label))

    counts: Counter[str] = Counter()
    parts, position = [], 0
    for start, end, label in sorted((t for t in taken if t[2] is not None), key=lambda t: t[0]):
        if start < position:  # an email inside a kept URL, already covered
            continue
        parts.append(text[position:start])
        parts.append(f"[{label}]")
        counts[label] += 1  # type: ignore[index]
        position = end
    parts.append(text[position:])
    return Redacted("".join(parts), dict(counts))
