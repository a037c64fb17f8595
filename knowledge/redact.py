"""Personal data out of text before it is embedded, stored, shown to a model or written into a helpdesk.

`redact(text, people=())` -> Redacted; `Redactor(people)` does the same for one ticket and can restore() its name
placeholders; `find_placeholders(text)` lists what is left in a draft; `mask_for_helpdesk(text)` for text we write
into a ticket ourselves (cards keep only their last four digits, PCI DSS).

One module for every caller (knowledge sync for past tickets, the drafting layer before Claude, handoff notes);
identity numbers, documents, birth dates and IPs are found in knowledge.redact_identity, names in
knowledge.redact_names.
Deterministic patterns plus checks from maintained libraries (python-stdnum for Luhn, IBAN and national ids,
phonenumbers for numbering plans), no model: an identifier is replaced only when its pattern AND its check agree.

What is found, with the check that keeps near-misses (order numbers, prices, dates, tracking numbers) out:
- [URL]: a link carrying a secret (a query parameter named like token/key/signature/password, credentials before
  the host, or a long random-looking path or query value). Plain help-center links stay: they are useful grounding.
- [EMAIL]: local@domain.tld, internationalised domains and local parts included.
- [CUSTOMER_NAME], [AGENT_NAME_n], [PERSON_NAME_n]: the names the helpdesk's own data gives (knowledge.redact_names).
- [IBAN]: country code, check digits, the country's length and ISO 13616 mod-97 (stdnum.iban).
- [CARD]: 13-19 digits in one run or groups of spaces/dashes (4-4-4-4-3 Maestro, 4-6-5 Amex); a card-network first
  digit (2-6) and the Luhn check (stdnum.luhn). A 20-22 digit tracking number or a 16-digit non-Luhn number is not.
- [NATIONAL_ID]: US SSN, UK NINO, Swedish personnummer, Dutch BSN, French NIR, Spanish DNI/NIE, Finnish HETU,
  Norwegian fodselsnummer, Italian codice fiscale, Brazilian CPF, Danish CPR, Belgian national number: each
  checked by stdnum; bare digit runs (nine-digit SSN, ten-digit personnummer, German Steuer-ID, PESEL, Canadian SIN)
  only right after the word that names them, a nine-digit 11-check BSN also without.
- [ID_DOCUMENT]: passport, identity card and driving licence numbers right after a word that names them.
- [DATE_OF_BIRTH]: a date next to a birth word (born, DOB, geboren, né, nacido, geboren op, född, nato, nascido...).
- [IP_ADDRESS]: IPv4 and IPv6 addresses valid for `ipaddress`, not version numbers ("version 10.2.1.15").
- [PHONE]: international (+ or 00) and national numbers valid in the numbering plans of the supported countries
  (phonenumbers), the grouped national formats below, or any 7-15 digit number right after a word like "phone".
- [ADDRESS]: a street line: house number + street word (English, French), street word + house number (German,
  Dutch, Swedish compounds, Spanish, Italian, Portuguese), German "Am Markt 3" / "Unter den Linden 77".

A number right after an order, invoice, tracking, customer, SKU or reference word (in the supported languages) is
kept, whatever it looks like: agents and the model need it. Detectors run in the order of DETECTORS; an earlier
match wins any overlap (a card inside a URL is the URL's).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from stdnum import iban as std_iban
from stdnum import luhn as std_luhn

from deskdraft.text.patterns import EMAIL, USERINFO, url_spans
from knowledge.redact_identity import dob_spans, document_spans, ip_spans, national_id_spans
from knowledge.redact_names import KnownName, PersonLike, known_names, name_spans

Span = tuple[int, int]
KINDS = ("URL", "EMAIL", "IBAN", "CARD", "NATIONAL_ID", "ID_DOCUMENT", "DATE_OF_BIRTH", "IP_ADDRESS", "PHONE",
         "ADDRESS")
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(KINDS) + r"|CUSTOMER_NAME|(?:AGENT|PERSON)_NAME_\d+)\]")


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: Mapping[str, int] = field(default_factory=dict)  # placeholder label ("EMAIL") -> replacements

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def find_placeholders(text: str) -> list[str]:
    """Placeholders left in a text (a draft about to be posted): each once, in order of appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


# ----- URLs with secrets ----------------------------------------------------------------------------------------

_SECRET_PARAM = re.compile(
    r"(?:^|[?&;#])(?:[\w.-]*?(?:token|secret|passw(?:or)?d|pwd|signature|sig|auth|session|sid|otp|code|key|"
    r"credential|jwt|hash|nonce)[\w.-]*)=([^&;#\s]+)", re.I)
_RANDOM_PIECE = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _looks_random(piece: str) -> bool:
    # A slug like "how-to-reset-your-password-123" is words; a token mixes letters and digits densely.
    if "-" in piece and all(part.isalpha() or part.isdigit() for part in piece.split("-") if part):
        return False
    digits = sum(c.isdigit() for c in piece)
    letters = sum(c.isalpha() for c in piece)
    return digits >= 3 and letters >= 3 and not piece.isdigit()


def _url_with_secret(url: str) -> bool:
    if USERINFO.match(url):
        return True
    if any(len(value) >= 4 for value in _SECRET_PARAM.findall(url)):
        return True
    return any(_looks_random(piece) for piece in _RANDOM_PIECE.findall(url))


def _url_spans(text: str) -> Iterator[tuple[Span, bool]]:
    """Every URL, marked True when it carries a secret; kept URLs still claim their span (cards inside stay)."""
    for start, end in url_spans(text):
        yield (start, end), _url_with_secret(text[start:end])


# ----- email: Unicode local parts and domains (müller-bäckerei.de), punycode ------------------------------------------



def _email_spans(text: str) -> Iterator[Span]:
    return (m.span() for m in EMAIL.finditer(text))


# ----- numbers that must stay: order, invoice, tracking, customer, SKU, reference ---------------------------------

_KEEP_WORD = (r"(?:order\w*|bestell\w*|bestel\w*|auftrag\w*|commande|pedido\w*|ordine|encomenda|invoice\w*|rechnung\w*|"
              r"factur\w*|factuur\w*|fattura|faktura\w*|tracking|track|sendung\w*|colis|suivi|envío|envio|"
              r"seguimiento|ref|reference|referenz|référence|referencia|referentie|ticket|case|sku|artikel\w*|"
              r"article|item|ean|isbn|upc|kunden\w*|klant\w*|client|customer|cliente|po|voucher|coupon|serial|"
              r"model|shipment|parcel|paket|package|pakket|dhl|ups|usps|fedex|postnl|colissimo|hermes|gls|dpd|"
              r"kvitto|beställning\w*|bestilling\w*|vertrag\w*|contract|contrato|vat|ust-idnr|siret|siren)")
_FILLER = r"(?:\s*(?:number|nummer|numéro|número|numero|no\.?|nr\.?|n[°º]\.?|id|#|:|-|d'ordine|da|de|do))*\s*"
_KEPT_NUMBER = re.compile(rf"(?i:\b{_KEEP_WORD}){_FILLER}([A-Za-z0-9][\w/.-]*(?:[ ]\d[\d-]*)*)")


def _kept_spans(text: str) -> Iterator[Span]:
    for match in _KEPT_NUMBER.finditer(text):
        if any(c.isdigit() for c in match.group(1)):
            yield match.span(1)


# ----- IBAN -------------------------------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18,
    "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
    "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
    "UA": 29, "VG": 24, "XK": 20,
}  # used to trim a match that ran into the next word; validity itself is stdnum's
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.I)


def iban_valid(candidate: str) -> bool:
    """ISO 13616 (stdnum): the country's format and length, and the rearranged number mod 97 is 1."""
    # check_country=False: stdnum's extra national checks include bank-code registries (it rejects the Belgian
    # textbook IBAN BE68 5390 0754 7034); the mod-97 check is what tells an IBAN from a typo.
    return std_iban.is_valid(candidate, check_country=False)


def luhn_valid(digits: str) -> bool:
    return digits.isdigit() and std_luhn.is_valid(digits)


def _iban_spans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        # The pattern may run into a following word ("... NL91ABNA0417164300 please"): trim to the country length.
        raw = match.group(0)
        length = IBAN_LENGTHS.get(raw[:2].upper())
        if length is None:
            continue
        seen, end = 0, 0
        for index, char in enumerate(raw, 1):
            seen += char != " "
            if seen == length:
                end = index
                break
        if end and iban_valid(raw[:end]) and (end == len(raw) or raw[end] == " "):
            yield match.start(), match.start() + end


# ----- payment cards ----------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}\1\d{1,4}(?:\1\d{1,3})?|"
                   r"\d{4}([ -])\d{6}\2\d{4,5})(?![\w-])")


def _card_spans(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            yield match.span()


# ----- phone numbers ----------------------------------------------------------------------------------------------

_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-/]?\(0\))?"
                            r"(?:[ .\-/]?(?:\(\d{1,5}\)|\d{1,5})){2,7}(?![\w])")
_NANP = re.compile(r"(?<![\w(])(?:1[-. ])?(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\w-])")
_NATIONAL = re.compile(r"(?<![\w.,/+-])\(?0[1-9]\d{0,3}\)?(?:[ .\-/]\d{2,8}){1,4}(?![\w-]|[.,]\d)")
_COMPACT = re.compile(r"(?<![\w.,+-])0[1-9]\d{8,10}(?![\w-]|[.,]\d)")
_PHONE_WORD = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|fax|telefon|telefonnummer|handy|mobil|"
    r"festnetz|téléphone|tél|portable|fixe|teléfono|telefono|móvil|celular|cellulare|chiamami|llámame|llama|"
    r"appelez|appelle|bel|telefoon|mobiel|mobilnummer|telemóvel|telefone|ligue|rufen)\b\.?:?[ \t]*"
    r"(?:(?:is|on|at|ist|est|es|är|é|è|al|au|op|på|unter|an|para|me|mich|le|me on)[ \t]+)*:?[ \t]*"
    r"(\+?\(?\d[\d ().\-/]{5,20}\d)", re.I)
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,/+-])(?:\+|\()?\d[\d ()./-]{5,22}\d(?![\w-]|[.,]\d)")
# Dates (05.02.2024, 2024-03-14) and year ranges (2024-2025) are valid numbers in some numbering plan.
_NOT_A_PHONE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}|(?:19|20)\d\d[-/](?:19|20)\d\d|"
                         r"(?:19|20)\d\d([./-])\d{1,2}\2\d{1,2}(?:\2\d+)*")  # a build stamp: 2024.11.30.1
PHONE_REGIONS = ("GB", "US", "DE", "AT", "CH", "FR", "BE", "ES", "NL", "SE", "NO", "DK", "FI", "IT", "PT", "BR",
                 "IE", "MX", "AU")


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


@lru_cache(maxsize=4096)
def _valid_somewhere(raw: str) -> bool:
    """Whether a written number is a valid phone number in one of the supported countries' numbering plans."""
    for region in (None,) if raw.startswith("+") else PHONE_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(raw, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _numbering_plan_spans(text: str) -> Iterator[Span]:
    """Numbers valid in a supported country's numbering plan (phonenumbers), written grouped or with a + ."""
    for candidate in _PHONE_CANDIDATE.finditer(text):
        raw = candidate.group(0)
        if not (raw[0] in "+(" or re.search(r"\d[ ./-]\d", raw)):  # a bare digit run is an order number as often
            continue
        if _digit_count(raw) < 8 or _NOT_A_PHONE.fullmatch(raw):
            continue
        if _valid_somewhere(raw):
            yield candidate.span()


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
    yield from _numbering_plan_spans(text)
    for match in _PHONE_WORD.finditer(text):
        if 7 <= _digit_count(match.group(1)) <= 15:
            yield match.span(1)


# ----- street addresses -------------------------------------------------------------------------------------------

_CAP = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’.-]*"
_EN_STREET = (r"Street|Avenue|Road|Boulevard|Lane|Drive|Court|Place|Square|Terrace|Way|Close|Crescent|Parkway|"
              r"Highway|Gardens|Grove|Mews|Row|Walk|Hill|Loop|Circle|Trail|Plaza|"
              r"(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy)\b\.?")
_EN_ADDRESS = re.compile(
    rf"(?<![\w.,])\d{{1,5}}[A-Za-z]?,? (?:{_CAP} ){{1,4}}(?:{_EN_STREET})(?!\w)"
    r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|#) ?[\w-]+)?")
_LOWER_STOP = r"(?!(?:the|a|an|on|in|of|my|your|our|and|or|to|at|for|by|from|with|items?|days?|main roads?)\b)"
# "12 main street": lowercase is taken only with an unmistakable street word.
_EN_LOWER_ADDRESS = re.compile(
    rf"(?<![\w.,])\d{{1,5}}[a-z]?,? (?:{_LOWER_STOP}[a-z][a-z'-]+ ){{1,3}}"
    r"(?:street|avenue|road|boulevard|lane|drive)\b")
_FR_ADDRESS = re.compile(
    r"(?<![\w.,])\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|"
    rf"cours|square) (?:(?:de la|de l'|du|des|de|d'|la|le|les|l') ?)*{_CAP}(?: {_CAP}){{0,3}}", re.I)
# Compounds: Hauptstraße 5, Keizersgracht 123, Drottninggatan 53; an optional first word: "Berliner Straße 12".
_SUFFIX_STREET = (r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|markt|"
                  r"straat|laan|gracht|plein|kade|singel|dijk|steeg|hof|"
                  r"gatan|vägen|gränd|torget|stigen|allén|backen|plan")
_SUFFIX_ADDRESS = re.compile(
    rf"(?<![\w-])(?:{_CAP} )?(?:{_CAP}(?:{_SUFFIX_STREET})|(?:Straße|Strasse|Weg|Platz|Allee|Laan|Gatan))"
    r" \d{1,4}(?: ?[a-zA-Z]\b)?", re.U)
# German streets named by a preposition: Am Markt 3, Unter den Linden 77, An der Alster 4, Im Winkel 2.
_DE_PREPOSITION_ADDRESS = re.compile(
    r"\b(?:Am|An der|An den|Auf dem|Auf der|Im|In der|In den|Unter den|Zum|Zur|Hinter der|Vor dem)"
    rf" {_CAP}(?: {_CAP})? \d{{1,4}}(?: ?[a-zA-Z]\b)?")
_ES_ADDRESS = re.compile(
    r"(?:\b(?:Calle|Avenida|Avda\.?|Plaza|Pza\.?|Paseo|Camino|Carretera|Ronda|Travesía|Rúa|Via|Viale|Piazza|"
    r"Corso|Largo|Vicolo|Rua|Avenida|Praça|Travessa|Estrada|Alameda)|C/) "
    rf"(?:(?:de la|de los|de las|del|de|la|el|los|las|da|do|dos|das|di) )*{_CAP}(?: {_CAP}){{0,3}},? "
    r"(?:n[º°o]\.? ?)?\d{1,4}\b")


def _address_spans(text: str) -> Iterator[Span]:
    for pattern in (_EN_ADDRESS, _EN_LOWER_ADDRESS, _FR_ADDRESS, _SUFFIX_ADDRESS, _DE_PREPOSITION_ADDRESS,
                    _ES_ADDRESS):
        yield from (m.span() for m in pattern.finditer(text))


# ----- the pipeline -----------------------------------------------------------------------------------------------

KEEP = "KEEP"  # a claimed span that stays as written (an order number)
DETECTORS: tuple[tuple[str, Callable[[str], Iterator[Span]]], ...] = (
    ("IBAN", _iban_spans),
    (KEEP, _kept_spans),
    ("CARD", _card_spans),
    ("NATIONAL_ID", national_id_spans),
    ("ID_DOCUMENT", document_spans),
    ("DATE_OF_BIRTH", dob_spans),
    ("IP_ADDRESS", ip_spans),
    ("PHONE", _phone_spans),
    ("ADDRESS", _address_spans),
)


class Redactor:
    """Redaction for one ticket: its people's names get the same placeholder everywhere in it."""

    def __init__(self, people: Iterable[PersonLike] = ()) -> None:
        self.names: list[KnownName] = known_names(people)

    def redact(self, text: str) -> Redacted:
        """Replace personal data in text with placeholders like [EMAIL]; see the module docstring for what."""
        taken: list[tuple[int, int, str | None]] = []  # (start, end, placeholder); None keeps the text

        def claim(start: int, end: int, placeholder: str | None) -> None:
            if start < end and all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, placeholder))

        for (start, end), secret in _url_spans(text):
            if secret:
                claim(start, end, "[URL]")
            else:  # a harmless link: emails inside it are still redacted, other detectors leave it alone
                for s, e in _email_spans(text[start:end]):
                    taken.append((start + s, start + e, "[EMAIL]"))
                taken.append((start, end, None))
        for start, end in _email_spans(text):
            claim(start, end, "[EMAIL]")
        for (start, end), placeholder in sorted(name_spans(text, self.names), key=lambda s: (s[0][0], -s[0][1])):
            claim(start, end, placeholder)
        for label, find in DETECTORS:
            for start, end in sorted(find(text), key=lambda s: (s[0], -s[1])):
                claim(start, end, None if label == KEEP else f"[{label}]")

        counts: Counter[str] = Counter()
        parts: list[str] = []
        position = 0
        hidden = sorted(((s, e, p) for s, e, p in taken if p is not None), key=lambda t: t[0])
        for start, end, placeholder in hidden:
            if start < position:  # an email inside a kept URL, already covered
                continue
            parts.append(text[position:start])
            parts.append(placeholder)
            counts[re.sub(r"_\d+$", "", placeholder.strip("[]"))] += 1
            position = end
        parts.append(text[position:])
        return Redacted("".join(parts), dict(counts))

    def restore(self, text: str) -> str:
        """Name placeholders back into the names they stand for (a reply posted on the same ticket)."""
        for known in self.names:
            text = text.replace(known.placeholder, known.display)
        return text


def redact(text: str, people: Iterable[PersonLike] = ()) -> Redacted:
    """Replace personal data in text with placeholders like [EMAIL]; see the module docstring for what."""
    return Redactor(people).redact(text)


def mask_for_helpdesk(text: str) -> str:
    """Text we write into a ticket ourselves (handoff notes): every kind hidden, a card keeps its last four digits."""
    redacted = redact(text).text
    if "[CARD]" not in redacted:
        return redacted
    cards = iter(re.sub(r"\D", "", text[s:e])[-4:] for s, e in sorted(_card_spans(text)))
    return re.sub(r"\[CARD\]", lambda _m: f"[CARD ending {next(cards, '????')}]", redacted)
