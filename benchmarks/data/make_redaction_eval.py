"""Writes redaction_eval.json: the labelled set benchmarks/redaction.py scores knowledge/redact.py on.

Written from the formats themselves (ISO 13616, card networks, national numbering plans, passport/id layouts) and
from how customers write, before the detectors were changed, and without running them: every identifier is a
"hide" with its kind, every near-miss a "keep". Check digits are computed here (test data must be real-format);
`people` is the ticket's own user data (name, email, role) as a connector reads it.
Run: python benchmarks/data/make_redaction_eval.py  (deterministic; the JSON is committed)
"""
from __future__ import annotations

import json
from pathlib import Path

CASES: list[dict] = []


def add(lang, text, hide=(), keep=(), people=None):
    case = {"lang": lang, "text": text, "hide": [list(h) for h in hide], "keep": list(keep)}
    if people:
        case["people"] = people
    CASES.append(case)


def luhn_complete(partial: str) -> str:
    for d in "0123456789":
        digits = partial + d
        total = 0
        for n, c in enumerate(reversed(digits)):
            v = int(c)
            if n % 2:
                v = v * 2 - 9 if v > 4 else v * 2
            total += v
        if total % 10 == 0:
            return digits
    raise AssertionError


def iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def grouped(s: str, n: int = 4) -> str:
    return " ".join(s[i:i + n] for i in range(0, len(s), n))


# ----- EMAIL --------------------------------------------------------------------------------------------------
emails = ["jane.doe+orders@example.co.uk", "m.mueller@web.de", "info@müller-bäckerei.de", "jürgen@bücher.example",
          "kontakt@xn--mller-kva.de", "o'connor.sean@mail.ie", "ANNA.SVENSSON@FORETAG.SE", "pedro_lopez87@hotmail.es",
          "claire.dubois@orange.fr", "jan.de.vries@ziggo.nl", "l.rossi@libero.it", "joao.silva@sapo.pt",
          "user@sub.mail.example.com", "x@y.io", "kunde-4711@t-online.de", "søren@firma.dk", "élodie@café.fr",
          "marta.garcía@correo.es", "first.last@company-name.travel", "a.b-c_d@e-f.museum"]
email_templates = [
    ("en", "Please reply to {v} instead of the old address."), ("en", "My email is {v}"),
    ("de", "Bitte schreiben Sie an {v}, danke."), ("fr", "Mon adresse e-mail : {v}"),
    ("es", "Escríbeme a {v} por favor."), ("nl", "Mijn e-mailadres is {v}."), ("sv", "Min e-post är {v}"),
    ("it", "La mia email è {v}."), ("pt", "O meu e-mail é {v}"), ("en", "Account email ({v}) cannot log in"),
    ("en", "sent from {v}:"), ("de", "Kontakt: <{v}>"),
]
for i, value in enumerate(emails):
    for j in range(2 if i < 14 else 3):
        lang, t = email_templates[(i * 3 + j) % len(email_templates)]
        add(lang, t.format(v=value), hide=[("EMAIL", value)])

# ----- PHONE --------------------------------------------------------------------------------------------------
phones = [
    ("en", "Call me on {v} after 5pm.", "+44 20 7946 0958"), ("en", "My number is {v}.", "020 7946 0958"),
    ("en", "mobile: {v}", "07700 900123"), ("en", "Reach me at {v} any time", "+1 (415) 555-2671"),
    ("en", "phone {v}", "(415) 555-2671"), ("en", "Text me at 415.555.2671 please", "415.555.2671"),
    ("en", "call 212-555-0187 tomorrow", "212-555-0187"), ("en", "Our office line is +61 2 9876 5432", "+61 2 9876 5432"),
    ("en", "ring me on 0044 20 7946 0958", "0044 20 7946 0958"), ("en", "My cell is +1 646 555 0199", "+1 646 555 0199"),
    ("de", "Meine Nummer ist {v}", "030 12345678"), ("de", "Handy: {v}", "0151 23456789"),
    ("de", "Rufen Sie mich unter {v} an.", "+49 30 901820"), ("de", "Tel.: {v}", "+49 (0)171 1234567"),
    ("de", "erreichbar unter 0171/1234567", "0171/1234567"), ("de", "Festnetz 089 12345678, bitte abends", "089 12345678"),
    ("de", "Telefon {v}", "+43 1 234567890"), ("de", "Meine Schweizer Nummer: +41 44 668 18 00", "+41 44 668 18 00"),
    ("fr", "Mon portable : {v}", "06 12 34 56 78"), ("fr", "Appelez le {v}", "+33 1 42 68 53 00"),
    ("fr", "Vous pouvez me joindre au 01.42.68.53.00", "01.42.68.53.00"), ("fr", "tél {v}", "0612345678"),
    ("fr", "Mon numéro belge est le +32 470 12 34 56", "+32 470 12 34 56"),
    ("es", "Llámame al {v}", "+34 612 345 678"), ("es", "Mi teléfono es 912 345 678", "912 345 678"),
    ("es", "móvil: {v}", "612345678"), ("es", "Meu celular é (11) 99398-7167", "(11) 99398-7167"),
    ("pt", "Ligue para {v}", "+55 11 99398-7167"), ("pt", "O meu telemóvel é 912 345 678", "912 345 678"),
    ("pt", "telefone +351 912 345 678", "+351 912 345 678"), ("es", "Mi número mexicano: +52 55 1234 5678", "+52 55 1234 5678"),
    ("nl", "Bel me op {v} a.u.b.", "+31 6 12345678"), ("nl", "Mijn nummer is {v}", "06-12345678"),
    ("nl", "bel {v} voor vragen", "0612345678"), ("nl", "vast nummer 020-1234567", "020-1234567"),
    ("nl", "Mijn Belgisch nummer: 0470 12 34 56", "0470 12 34 56"),
    ("sv", "Ring mig på {v}.", "+46 70-123 45 67"), ("sv", "Mitt nummer: {v}", "070-123 45 67"),
    ("sv", "telefon 08-123 456 78", "08-123 456 78"), ("sv", "Min mobil är 0701234567", "0701234567"),
    ("it", "Il mio numero è {v}", "+39 06 1234 5678"), ("it", "cellulare 347 123 4567", "347 123 4567"),
    ("it", "chiamami al 3471234567", "3471234567"), ("en", "WhatsApp +91 98765 43210", "+91 98765 43210"),
    ("en", "My Japanese number is +81 3-1234-5678", "+81 3-1234-5678"), ("en", "call +65 6123 4567", "+65 6123 4567"),
    ("en", "Phone: +27 21 123 4567", "+27 21 123 4567"), ("en", "+353 87 123 4567 is my number", "+353 87 123 4567"),
    ("en", "Please call back on 07911 123456.", "07911 123456"), ("en", "tel:+442079460958", "+442079460958"),
    ("de", "Sie erreichen mich mobil unter 0049 171 1234567", "0049 171 1234567"),
    ("en", "my number (555) 867-5309", "(555) 867-5309"), ("en", "Number: 1-800-555-0199", "1-800-555-0199"),
    ("fr", "Tél. : +33 (0)6 12 34 56 78", "+33 (0)6 12 34 56 78"), ("es", "Tel 93 123 45 67", "93 123 45 67"),
    ("pt", "Celular: 11 99398-7167", "11 99398-7167"), ("pt", "Fixo (21) 3456-7890", "(21) 3456-7890"),
    ("nl", "telefoon: +32 2 123 45 67", "+32 2 123 45 67"), ("sv", "Ring 031-123 45 67", "031-123 45 67"),
    ("it", "fisso 02 1234 5678", "02 1234 5678"), ("de", "Rückruf bitte an 06221 123456", "06221 123456"),
    ("en", "call me: +1.415.555.2671", "+1.415.555.2671"), ("en", "Call 020 3318 4000 if urgent", "020 3318 4000"),
    ("es", "Mi WhatsApp es +57 301 234 5678", "+57 301 234 5678"), ("de", "Tel +43 664 1234567", "+43 664 1234567"),
    ("fr", "mon fixe: 04 78 12 34 56", "04 78 12 34 56"), ("nl", "Bel 010 123 4567", "010 123 4567"),
]
for lang, t, v in phones:
    add(lang, t.format(v=v), hide=[("PHONE", v)])

# ----- CARD ---------------------------------------------------------------------------------------------------
cards = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "3530111333300000",
         "5105105105105100", "4012888888881881", "371449635398431", "6011000990139424", "4222222222222",
         luhn_complete("675964982643845"), luhn_complete("679999010000000001"), luhn_complete("501800000000000000"),
         luhn_complete("222100000000000"), luhn_complete("620000000000000000"), luhn_complete("36227206271667"[:13]),
         luhn_complete("457173000000000"), luhn_complete("498765432109876")]
card_forms = [lambda c: c, lambda c: grouped(c), lambda c: "-".join(c[i:i + 4] for i in range(0, len(c), 4))]
card_templates = [("en", "My card {v} was charged twice"), ("en", "card number: {v}"), ("de", "Kartennummer {v}"),
                  ("fr", "Ma carte {v} a été débitée"), ("es", "Tarjeta {v}, caduca 09/27"), ("nl", "kaart {v}"),
                  ("sv", "kortnummer {v}"), ("it", "carta {v}"), ("pt", "cartão {v}"), ("en", "Charged to {v}.")]
n = 0
for i, c in enumerate(cards):
    for k in range(2):
        form = card_forms[(i + k) % 3](c) if len(c) in (16, 19) or k == 0 else c
        lang, t = card_templates[n % len(card_templates)]
        n += 1
        add(lang, t.format(v=form), hide=[("CARD", form)])
for c in (luhn_complete("679999010000000001"), luhn_complete("501800000000000000"), luhn_complete("630400000000000000")):
    form = grouped(c)  # 19-digit Maestro in groups of four (4-4-4-4-3)
    add("en", f"Maestro {form} expired", hide=[("CARD", form)])
add("en", "Amex 3782 822463 10005 declined", hide=[("CARD", "3782 822463 10005")])
add("de", "Die Karte 3714 496353 98431 wurde abgelehnt", hide=[("CARD", "3714 496353 98431")])

# ----- IBAN ---------------------------------------------------------------------------------------------------
ibans = [iban("DE", "370400440532013000"), iban("GB", "WEST12345698765432"), iban("FR", "20041010050500013M02606"),
         iban("NL", "ABNA0417164300"), iban("ES", "21000418450200051332"), iban("IT", "X0542811101000000123456"),
         iban("BE", "539007547034"), iban("CH", "00762011623852957"), iban("AT", "1904300234573201"),
         iban("SE", "50000000058398257466"), iban("PL", "109010140000071219812874"), iban("PT", "000201231234567890154"),
         iban("IE", "AIBK93115212345678"), iban("NO", "86011117947"), iban("DK", "00400440116243"),
         iban("FI", "12345600000785"), iban("LU", "0019400644750000"), iban("BR", "00360305000010009795493C1"),
         iban("DE", "500105175407324931"), iban("NL", "RABO0123456789")]
iban_templates = [("de", "Bitte überweisen Sie auf {v}."), ("en", "Refund to IBAN {v} please"),
                  ("fr", "Mon IBAN : {v}"), ("nl", "rekeningnummer {v}"), ("es", "Mi cuenta es {v}"),
                  ("sv", "IBAN {v}"), ("it", "IBAN: {v}, intestato a me"), ("pt", "o meu IBAN é {v}")]
for i, value in enumerate(ibans):
    for k, form in enumerate((value, grouped(value))):
        lang, t = iban_templates[(i * 2 + k) % len(iban_templates)]
        add(lang, t.format(v=form), hide=[("IBAN", form)])

# ----- NATIONAL_ID --------------------------------------------------------------------------------------------
nid = [
    ("en", "My SSN is 536-90-4417", "536-90-4417"), ("en", "social security number 536904417", "536904417"),
    ("en", "SSN: 078 05 1121", "078 05 1121"), ("en", "ssn 212-09-9999 on the form", "212-09-9999"),
    ("en", "Social Security No. 451239876", "451239876"),
    ("en", "NI number JG 10 37 59 A", "JG 10 37 59 A"), ("en", "National Insurance: AB123456C", "AB123456C"),
    ("sv", "personnummer 8112189876", "8112189876"), ("sv", "personnummer 811218 9876", "811218 9876"),
    ("sv", "Mitt personnummer är 19811218-9876", "19811218-9876"), ("sv", "pnr 811218-9876", "811218-9876"),
    ("sv", "personnr: 198112189876", "198112189876"),
    ("nl", "BSN 111222333", "111222333"), ("nl", "mijn burgerservicenummer is 1234.56.782", "1234.56.782"),
    ("nl", "Mijn nummer is 111222333, klopt dat?", "111222333"), ("nl", "sofinummer: 123456782", "123456782"),
    ("fr", "numéro de sécurité sociale 1 84 12 76 451 089 46", "1 84 12 76 451 089 46"),
    ("fr", "NIR 184127645108946", "184127645108946"),
    ("es", "Mi DNI es 12345678Z", "12345678Z"), ("es", "NIE X1234567L", "X1234567L"), ("es", "DNI: 87654321X", "87654321X"),
    ("fi", "henkilötunnus 131052-308T", "131052-308T"), ("fi", "hetu 311280-888Y", "311280-888Y"),
    ("no", "fødselsnummer 15108695088", "15108695088"), ("no", "fnr. 010199 55131", None),
    ("it", "codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S"), ("it", "Il mio CF è MRTMTT25D09F205Z", "MRTMTT25D09F205Z"),
    ("pt", "CPF 123.456.789-09", "123.456.789-09"), ("pt", "meu CPF é 52998224725", "52998224725"),
    ("de", "Steuer-ID 65929970489", "65929970489"), ("de", "steuerliche Identifikationsnummer 86095742719", "86095742719"),
    ("be", "rijksregisternummer 85.07.30-033.28", "85.07.30-033.28"), ("dk", "CPR-nummer 211062-5629", "211062-5629"),
    ("pl", "PESEL 44051401359", "44051401359"), ("es", "DNI 12345678-Z", "12345678-Z"),
    ("en", "my SIN is 130 692 544", "130 692 544"), ("en", "SSN 536 90 4417", "536 90 4417"),
    ("nl", "BSN: 2345.67.891 (niet geldig)", None),
]
for lang, text, v in nid:
    if v is None:
        continue
    add(lang, text, hide=[("NATIONAL_ID", v)])

# ----- ADDRESS ------------------------------------------------------------------------------------------------
addresses = [
    ("en", "Ship it to 221B Baker Street, London", "221B Baker Street"), ("en", "I live at 12 main street", "12 main street"),
    ("en", "Address: 1 Infinite Loop, Cupertino", "1 Infinite Loop"), ("en", "send to 742 Evergreen Terrace", "742 Evergreen Terrace"),
    ("en", "My address is 1600 Pennsylvania Avenue NW", "1600 Pennsylvania Avenue"), ("en", "deliver to 10 Downing St.", "10 Downing St"),
    ("en", "new address 55 Oak Rd, Apt 4B", "55 Oak Rd"), ("en", "it went to 350 Fifth Avenue instead", "350 Fifth Avenue"),
    ("en", "we moved to 8 Elm Grove last week", "8 Elm Grove"), ("en", "1234 Sunset Blvd, Los Angeles", "1234 Sunset Blvd"),
    ("en", "address: 4 privet drive", "4 privet drive"), ("en", "My flat is at 7 Abbey Road", "7 Abbey Road"),
    ("de", "Lieferadresse: Unter den Linden 77, Berlin", "Unter den Linden 77"), ("de", "Ich wohne Am Markt 3", "Am Markt 3"),
    ("de", "Hauptstraße 5, 10115 Berlin", "Hauptstraße 5"), ("de", "Bitte an Berliner Straße 12a liefern", "Berliner Straße 12a"),
    ("de", "Adresse: Goethestr. 14", "Goethestr. 14"), ("de", "Meine neue Anschrift ist Im Winkel 2", "Im Winkel 2"),
    ("de", "An der Alster 4, Hamburg", "An der Alster 4"), ("de", "Lindenweg 23", "Lindenweg 23"),
    ("de", "Schillerplatz 1 in Stuttgart", "Schillerplatz 1"), ("de", "Auf dem Berg 17", "Auf dem Berg 17"),
    ("fr", "J'habite au 12 rue de la Paix, Paris", "12 rue de la Paix"), ("fr", "adresse : 5 avenue Victor Hugo", "5 avenue Victor Hugo"),
    ("fr", "livrez au 3 bis boulevard Saint-Michel", "3 bis boulevard Saint-Michel"), ("fr", "14 place Bellecour, Lyon", "14 place Bellecour"),
    ("es", "Vivo en Calle Mayor 10, Madrid", "Calle Mayor 10"), ("es", "Dirección: Avenida de la Constitución 3", "Avenida de la Constitución 3"),
    ("es", "C/ Gran Vía 28, 3º", "C/ Gran Vía 28"), ("es", "Plaza Mayor 1", "Plaza Mayor 1"),
    ("nl", "Mijn adres is Keizersgracht 123, Amsterdam", "Keizersgracht 123"), ("nl", "Stationsstraat 45", "Stationsstraat 45"),
    ("nl", "bezorgen op Dorpsstraat 12A", "Dorpsstraat 12A"), ("nl", "Kerkplein 3, Utrecht", "Kerkplein 3"),
    ("sv", "Drottninggatan 53, Stockholm", "Drottninggatan 53"), ("sv", "Jag bor på Storgatan 1", "Storgatan 1"),
    ("sv", "adress: Kungsvägen 8", "Kungsvägen 8"), ("it", "Abito in Via Roma 15, Milano", "Via Roma 15"),
    ("it", "indirizzo: Piazza Navona 4", "Piazza Navona 4"), ("it", "Corso Vittorio Emanuele 21", "Corso Vittorio Emanuele 21"),
    ("pt", "Moro na Rua Augusta 100, Lisboa", "Rua Augusta 100"), ("pt", "Avenida Paulista 1578", "Avenida Paulista 1578"),
]
for lang, text, v in addresses:
    add(lang, text, hide=[("ADDRESS", v)])

# ----- URL with a secret --------------------------------------------------------------------------------------
urls = ["https://shop.example.com/reset?token=9f8e7d6c5b4a3928", "https://user:hunter2@files.example.com/x",
        "https://app.example.com/login?session=ab12cd34ef56gh78", "https://example.com/s/Zq3xY9kLm2Pq8Rt5Wv7",
        "https://api.example.com/v1?api_key=sk_live_51Habc123", "https://example.com/verify?code=738291",
        "https://track.example.com/?sig=AbC123dEf456", "https://docs.example.com/share?auth=e5f6a7b8c9d0",
        "http://portal.example.net/unsubscribe?hash=8c1f2e3d4b5a6978", "https://example.com/invite/8f7A2kQ9zP4mX1nB6"]
for i, u in enumerate(urls):
    lang, t = [("en", "Click {v} to continue"), ("de", "Der Link {v} geht nicht"), ("fr", "le lien {v} ne marche pas")][i % 3]
    add(lang, t.format(v=u), hide=[("URL", u)])

# ----- DATE_OF_BIRTH ------------------------------------------------------------------------------------------
dobs = [
    ("en", "Date of birth: 14/03/1985", "14/03/1985"), ("en", "DOB 1985-03-14", "1985-03-14"),
    ("en", "I was born on 3 March 1985", "3 March 1985"), ("en", "born 12/25/1990 if that helps", "12/25/1990"),
    ("en", "My birthday is July 4, 1979", "July 4, 1979"), ("en", "d.o.b. 02.11.1967", "02.11.1967"),
    ("de", "Geburtsdatum: 14.03.1985", "14.03.1985"), ("de", "geboren am 1. April 1970", "1. April 1970"),
    ("de", "Ich bin am 14.3.1985 geboren", "14.3.1985"), ("de", "geb. 05.06.1992", "05.06.1992"),
    ("fr", "né le 14/03/1985", "14/03/1985"), ("fr", "date de naissance : 14 mars 1985", "14 mars 1985"),
    ("fr", "née le 2 février 1990", "2 février 1990"),
    ("es", "fecha de nacimiento: 14/03/1985", "14/03/1985"), ("es", "nací el 14 de marzo de 1985", "14 de marzo de 1985"),
    ("nl", "geboortedatum 14-03-1985", "14-03-1985"), ("nl", "geboren op 3 maart 1985", "3 maart 1985"),
    ("sv", "född 1985-03-14", "1985-03-14"), ("sv", "födelsedatum: 14 mars 1985", "14 mars 1985"),
    ("it", "data di nascita 14/03/1985", "14/03/1985"), ("it", "nato il 14 marzo 1985", "14 marzo 1985"),
    ("pt", "data de nascimento: 14/03/1985", "14/03/1985"), ("pt", "nasci em 14/03/1985", "14/03/1985"),
    ("en", "Birthdate: 1985-03-14", "1985-03-14"), ("de", "Geburtstag 24.12.1988", "24.12.1988"),
]
for lang, text, v in dobs:
    add(lang, text, hide=[("DATE_OF_BIRTH", v)])

# ----- ID_DOCUMENT (passport, identity card, driving licence) -------------------------------------------------
docs = [
    ("en", "passport number: 533380006", "533380006"), ("en", "Passport No. C01X00T47", "C01X00T47"),
    ("en", "my passport is 925076473, expires 2030", "925076473"), ("en", "UK passport 123456789", "123456789"),
    ("de", "Reisepassnummer C01X00T47", "C01X00T47"), ("de", "Personalausweisnummer T22000129", "T22000129"),
    ("de", "Ausweisnummer: L01X00T47", "L01X00T47"), ("fr", "numéro de passeport 12AB34567", "12AB34567"),
    ("fr", "carte d'identité n° 880692310285", "880692310285"), ("es", "pasaporte número PAA123456", "PAA123456"),
    ("es", "Número de pasaporte: XDB654321", "XDB654321"), ("nl", "paspoortnummer NP1234567", "NP1234567"),
    ("nl", "ID-kaart nummer IR4567890", "IR4567890"), ("sv", "passnummer 12345678", "12345678"),
    ("it", "numero di passaporto YA1234567", "YA1234567"), ("it", "carta d'identità CA00000AA", "CA00000AA"),
    ("pt", "número do passaporte FZ123456", "FZ123456"), ("en", "driver's license D1234567", "D1234567"),
    ("en", "Driving licence number MORGA753116SM9IJ", "MORGA753116SM9IJ"), ("de", "Führerscheinnummer B072RRE2I55", "B072RRE2I55"),
    ("en", "ID card no. 7A9B2C4D", "7A9B2C4D"), ("fr", "passeport n°: 15CV12345", "15CV12345"),
    ("en", "Passport: 502135326", "502135326"), ("es", "mi pasaporte es AAB112233", "AAB112233"),
]
for lang, text, v in docs:
    add(lang, text, hide=[("ID_DOCUMENT", v)])

# ----- IP -----------------------------------------------------------------------------------------------------
ips = [("en", "My IP is 203.0.113.7", "203.0.113.7"), ("en", "blocked from 198.51.100.23 again", "198.51.100.23"),
       ("en", "router at 192.168.1.254", "192.168.1.254"), ("de", "meine IP-Adresse: 85.214.132.117", "85.214.132.117"),
       ("fr", "adresse IP 10.0.0.12", "10.0.0.12"), ("es", "desde la IP 181.45.2.90", "181.45.2.90"),
       ("en", "IPv6 2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334"),
       ("en", "from 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
       ("en", "link-local fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"), ("nl", "mijn ip 62.45.120.8", "62.45.120.8"),
       ("sv", "IP-adress 194.14.56.3", "194.14.56.3"), ("en", "login from 8.8.4.4?", "8.8.4.4"),
       ("it", "indirizzo IP 151.38.4.201", "151.38.4.201"), ("pt", "o IP 177.12.90.44 foi bloqueado", "177.12.90.44"),
       ("en", "[2001:db8::1]:8080 refused", "2001:db8::1"), ("de", "Zugriff von 2a02:908:1a2:3b40::5", "2a02:908:1a2:3b40::5"),
       ("en", "address 172.16.254.1 was banned", "172.16.254.1"), ("en", "ip=91.198.174.192", "91.198.174.192")]
for lang, text, v in ips:
    add(lang, text, hide=[("IP_ADDRESS", v)])

# ----- NAME: people the ticket's own data names ---------------------------------------------------------------
P = lambda name, email=None, role="customer": {"name": name, "email": email, "role": role}  # noqa: E731
named = [
    ("en", [P("Maria Gonzalez", "maria.gonzalez@gmail.com"), P("Tom Becker", None, "agent")],
     "Hi Tom,\nmy order has not arrived.\nThanks,\nMaria Gonzalez", ["Tom", "Maria Gonzalez"]),
    ("en", [P("Maria Gonzalez", "maria.gonzalez@gmail.com")], "Hello, this is maria.gonzalez, I wrote before.",
     ["maria.gonzalez"]),
    ("de", [P("Jürgen Müller", "j.mueller@web.de"), P("Anna Schmidt", None, "agent")],
     "Hallo Frau Schmidt, vielen Dank! Gruß, Jürgen Müller", ["Schmidt", "Jürgen Müller"]),
    ("de", [P("Jürgen Müller", "j.mueller@web.de")], "Mit freundlichen Grüßen\nJ. Mueller", ["Mueller"]),
    ("fr", [P("Élodie Martin", "elodie.martin@orange.fr"), P("Lucas Bernard", None, "agent")],
     "Bonjour Lucas, merci. Cordialement, Élodie", ["Lucas", "Élodie"]),
    ("fr", [P("Élodie Martin", "elodie.martin@orange.fr")], "Cordialement,\nElodie MARTIN", ["Elodie MARTIN"]),
    ("es", [P("José García López", "jose.garcia@correo.es"), P("Lucía Fernández", None, "agent")],
     "Hola Lucía, soy José García. Saludos", ["Lucía", "José García"]),
    ("es", [P("José García López", "jose.garcia@correo.es")], "Un saludo, jose garcia", ["jose garcia"]),
    ("nl", [P("Jan de Vries", "jan.devries@ziggo.nl"), P("Sanne Jansen", None, "agent")],
     "Hoi Sanne, bedankt! Groet, Jan de Vries", ["Sanne", "Jan de Vries"]),
    ("nl", [P("Jan de Vries", "jan.devries@ziggo.nl")], "Met vriendelijke groet,\nJ. de Vries", ["de Vries"]),
    ("sv", [P("Anna Svensson", "anna.svensson@telia.se"), P("Erik Lindqvist", None, "agent")],
     "Hej Erik! Mvh Anna Svensson", ["Erik", "Anna Svensson"]),
    ("sv", [P("Anna Svensson", "anna.svensson@telia.se")], "Hälsningar\nAnna", ["Anna"]),
    ("it", [P("Luca Rossi", "luca.rossi@libero.it"), P("Giulia Bianchi", None, "agent")],
     "Ciao Giulia, grazie mille. Luca Rossi", ["Giulia", "Luca Rossi"]),
    ("pt", [P("João Silva", "joao.silva@sapo.pt"), P("Ana Costa", None, "agent")],
     "Olá Ana, obrigado! Cumprimentos, João Silva", ["Ana", "João Silva"]),
    ("pt", [P("João Silva", "joao.silva@sapo.pt")], "Atenciosamente, Joao Silva", ["Joao Silva"]),
    ("en", [P("Priya Natarajan", "pnatarajan@outlook.com"), P("Dave O'Brien", None, "agent")],
     "Dave, as I told you yesterday, the parcel is missing. - Priya", ["Dave", "Priya"]),
    ("en", [P("Priya Natarajan", "pnatarajan@outlook.com")], "Regards, P. Natarajan (pnatarajan)", ["Natarajan", "pnatarajan"]),
    ("en", [P("Chris Wong", "chris.wong@acme.test"), P("Sam Taylor", None, "agent")],
     "Thanks Sam Taylor for the help. CHRIS WONG", ["Sam Taylor", "CHRIS WONG"]),
    ("en", [P("Oluwaseun Adeyemi", "seun.adeyemi@mail.ng")], "Hi, Oluwaseun here. Call me Seun.", ["Oluwaseun"]),
    ("de", [P("Zoë Schäfer", "zoe.schaefer@gmx.de"), P("Max Wagner", None, "agent")],
     "Lieber Herr Wagner, danke. Viele Grüße, Zoë Schäfer", ["Wagner", "Zoë Schäfer"]),
    ("de", [P("Zoë Schäfer", "zoe.schaefer@gmx.de")], "VG Zoe Schaefer", ["Zoe Schaefer"]),
    ("en", [P("Emily Carter", "emily.c@example.org"), P("Noah Kim", None, "agent")],
     "Noah said a replacement was shipped. Emily", ["Noah", "Emily"]),
    ("en", [P("Mohammed Al-Rashid", "m.alrashid@example.ae")], "Best, Mohammed Al-Rashid", ["Mohammed Al-Rashid"]),
    ("fr", [P("Camille Dubois", "camille.dubois@free.fr"), P("Hugo Moreau", None, "agent")],
     "Merci Hugo Moreau ! Bien à vous, C. Dubois", ["Hugo Moreau", "Dubois"]),
    ("nl", [P("Sophie Bakker", "sophie.bakker@kpn.nl")], "Groetjes, Sophie", ["Sophie"]),
    ("sv", [P("Björn Åberg", "bjorn.aberg@foretag.se")], "Mvh Björn Åberg", ["Björn Åberg"]),
    ("es", [P("Lucía Fernández", None, "agent"), P("Carlos Ruiz", "cruiz@gmail.com")],
     "Gracias Lucía por la ayuda. Carlos Ruiz", ["Lucía", "Carlos Ruiz"]),
    ("it", [P("Francesca Romano", "f.romano@tin.it")], "Saluti, Francesca Romano", ["Francesca Romano"]),
    ("en", [P("Liam Murphy", "liam.murphy@eircom.net"), P("Aisha Khan", None, "agent")],
     "Hi Aisha, Liam again. My wife says hi.", ["Aisha", "Liam"]),
    ("en", [P("Hannah Lee", "hannahlee92@gmail.com")], "hannahlee92 here, any update?", ["hannahlee92"]),
]
for lang, people, text, values in named:
    add(lang, text, hide=[("NAME", v) for v in values], people=people)

# ----- NAME_FREE_TEXT: names no ticket data carries (reported, not claimed) ------------------------------------
free = [("en", "My husband Peter Schmidt placed the order.", "Peter Schmidt"),
        ("en", "Please send it to my neighbour, Mrs. Olivia Brown.", "Olivia Brown"),
        ("de", "Mein Sohn Lukas Weber hat bestellt.", "Lukas Weber"),
        ("fr", "C'est ma fille, Chloé Lambert, qui a payé.", "Chloé Lambert"),
        ("es", "El pedido lo hizo mi hermano Diego Torres.", "Diego Torres"),
        ("nl", "Mijn collega Pieter Visser heeft het ontvangen.", "Pieter Visser"),
        ("en", "The courier, a man called James Wilson, left it outside.", "James Wilson"),
        ("it", "Ha firmato mio marito Marco Ferrari.", "Marco Ferrari"),
        ("sv", "Min fru Karin Nilsson tog emot paketet.", "Karin Nilsson"),
        ("pt", "Foi o meu pai, António Pereira, que encomendou.", "António Pereira"),
        ("en", "Please add Rebecca Thompson as a user on my account.", "Rebecca Thompson"),
        ("en", "Talked to your agent Kevin yesterday.", "Kevin")]
for lang, text, v in free:
    add(lang, text, hide=[("NAME_FREE_TEXT", v)])

# ----- Hard negatives: must survive ---------------------------------------------------------------------------
keeps = [
    ("en", "Order #123456789 has not arrived", ["123456789"]), ("en", "order number 4012888888", ["4012888888"]),
    ("de", "Bestellnummer 0123456789", ["0123456789"]), ("de", "Meine Bestellung 0612345678 fehlt", ["0612345678"]),
    ("de", "Rechnungsnummer RE-2024-004711", ["RE-2024-004711"]), ("de", "Rechnung Nr. 0301234567", ["0301234567"]),
    ("fr", "Commande n° 0612345678 non reçue", ["0612345678"]), ("fr", "numéro de commande 111222333", ["111222333"]),
    ("fr", "facture 2024-06-0042", ["2024-06-0042"]), ("es", "Pedido 0034612345 sin entregar", ["0034612345"]),
    ("es", "número de pedido 912345678", ["912345678"]), ("es", "factura F-2024/0098", ["F-2024/0098"]),
    ("nl", "bestelnummer 111222333 is niet bezorgd", ["111222333"]), ("nl", "ordernummer 0612345678", ["0612345678"]),
    ("nl", "factuurnummer 2024001234", ["2024001234"]), ("sv", "ordernummer 8112189876", ["8112189876"]),
    ("sv", "fakturanummer 0701234567", ["0701234567"]), ("it", "numero d'ordine 3471234567", ["3471234567"]),
    ("pt", "número da encomenda 912345678", ["912345678"]), ("en", "invoice INV-2024-0042", ["INV-2024-0042"]),
    ("en", "Invoice number 02079460958", ["02079460958"]), ("en", "order 4111-1111-1111", ["4111-1111-1111"]),
    ("en", "Tracking: 1Z999AA10123456784", ["1Z999AA10123456784"]), ("en", "USPS 9400 1000 0000 0000 0000 00", ["9400 1000 0000 0000 0000 00"]),
    ("en", "tracking number 92748999999999999999999999", ["92748999999999999999999999"]),
    ("de", "Sendungsnummer 00340434161234567890", ["00340434161234567890"]), ("de", "DHL 003404341612345678", ["003404341612345678"]),
    ("en", "Royal Mail RR123456785GB", ["RR123456785GB"]), ("fr", "Colissimo 6A12345678901", ["6A12345678901"]),
    ("nl", "PostNL 3SABCD1234567", ["3SABCD1234567"]), ("en", "FedEx tracking 449044304137821", ["449044304137821"]),
    ("en", "SKU 0012-3456-78", ["0012-3456-78"]), ("en", "item SKU-4829-XL-BLK", ["SKU-4829-XL-BLK"]),
    ("de", "Artikelnummer 4006381333931", ["4006381333931"]), ("en", "EAN 5901234123457", ["5901234123457"]),
    ("en", "ISBN 978-3-16-148410-0", ["978-3-16-148410-0"]), ("en", "model number A1234-567-8901", ["A1234-567-8901"]),
    ("en", "The total was $1,234.56", ["$1,234.56"]), ("de", "Betrag 1.234,56 €", ["1.234,56 €"]),
    ("fr", "montant 1 234,56 €", ["1 234,56 €"]), ("en", "refund of 4111.11 USD", ["4111.11"]),
    ("en", "charged 1,299,999.00", ["1,299,999.00"]), ("sv", "summa 12 345 kr", ["12 345 kr"]),
    ("en", "Delivery on 14/03/2024 please", ["14/03/2024"]), ("de", "Lieferdatum 14.03.2024", ["14.03.2024"]),
    ("de", "bestellt am 01.02.2024, geliefert am 05.02.2024", ["01.02.2024", "05.02.2024"]),
    ("fr", "livré le 14 mars 2024", ["14 mars 2024"]), ("es", "entrega el 14/03/2024", ["14/03/2024"]),
    ("nl", "bezorgd op 14-03-2024", ["14-03-2024"]), ("en", "ordered on 2024-03-14", ["2024-03-14"]),
    ("en", "arrives March 14, 2024", ["March 14, 2024"]), ("sv", "levereras 2024-03-14", ["2024-03-14"]),
    ("en", "We opened in 1985-03-14 style dates", []), ("en", "born in the USA t-shirt size L", ["born in the USA"]),
    ("en", "App version 10.2.1.15 crashes", ["10.2.1.15"]), ("en", "firmware 1.0.0.12", ["1.0.0.12"]),
    ("en", "build 2024.11.30.1", ["2024.11.30.1"]), ("en", "ratio 16:9, time 10:30:45", ["10:30:45"]),
    ("en", "error code 0x80070005", ["0x80070005"]), ("en", "error E-4012-8888", ["E-4012-8888"]),
    ("en", "Reference 3141592653", ["3141592653"]), ("en", "customer number 0207946095", ["0207946095"]),
    ("de", "Kundennummer 0301234567", ["0301234567"]), ("fr", "numéro client 0142685300", ["0142685300"]),
    ("nl", "klantnummer 0201234567", ["0201234567"]), ("en", "case 00123456", ["00123456"]),
    ("en", "voucher code SAVE20-2024", ["SAVE20-2024"]), ("en", "gift card ending in 1111", ["1111"]),
    ("en", "card ending 4444, expiring 09/27", ["4444", "09/27"]), ("en", "last four digits 0005", ["0005"]),
    ("en", "Help center: https://help.acme.test/refunds", ["https://help.acme.test/refunds"]),
    ("en", "see https://example.com/how-to-reset-your-password-123", ["https://example.com/how-to-reset-your-password-123"]),
    ("en", "Our handle is @acme_support on Twitter", ["@acme_support"]), ("en", "Version 2.3@beta is out", ["2.3@beta"]),
    ("en", "Room 12, floor 3, building B", ["Room 12"]), ("en", "I waited 12 days and 3 hours", ["12 days"]),
    ("en", "5 items on the way", ["5 items on the way"]), ("en", "2 pairs of shoes, size 42", ["2 pairs"]),
    ("en", "Take the 3 main roads", []), ("de", "3 Artikel im Warenkorb", ["3 Artikel"]),
    ("de", "Paket 2 von 3 angekommen", ["Paket 2 von 3"]), ("de", "Filiale Am Hauptbahnhof geschlossen", ["Am Hauptbahnhof"]),
    ("fr", "3 articles sur 5 reçus", ["3 articles sur 5"]), ("nl", "2 van de 4 pakketten", ["2 van de 4"]),
    ("en", "postcode SW1A 1AA", ["SW1A 1AA"]), ("de", "PLZ 10115 Berlin", ["10115"]),
    ("en", "ZIP 94105", ["94105"]), ("fr", "code postal 75002", ["75002"]),
    ("en", "Order 5555555555554 arrived damaged", ["5555555555554"]), ("en", "PO number 4500012345", ["4500012345"]),
    ("en", "shipment 1234 5678 9012", ["1234 5678 9012"]), ("en", "serial SN-1985-0314-XY", ["SN-1985-0314-XY"]),
    ("en", "our company number is 08495612", ["08495612"]), ("de", "USt-IdNr. DE136695976", ["DE136695976"]),
    ("en", "VAT GB980780684", ["GB980780684"]), ("fr", "SIRET 73282932000074", ["73282932000074"]),
    ("en", "I bought it at 9:45 on 14/03", ["9:45", "14/03"]), ("en", "The 2024-2025 season pass", ["2024-2025"]),
    ("en", "temperature 36.6 degrees", ["36.6"]), ("en", "coordinates 52.5200, 13.4050", ["52.5200, 13.4050"]),
    ("en", "Maria in accounting already refunded it", ["Maria"]), ("en", "Grace period ends Friday", ["Grace"]),
    ("en", "Will you refund me?", ["Will"]), ("en", "I ordered a Mark II camera", ["Mark II"]),
    ("de", "Bestellung vom Mai, Paket 0151", ["0151"]), ("en", "The parcel weighs 2.5 kg", ["2.5 kg"]),
    ("es", "pedido #PED-2024-8812", ["PED-2024-8812"]), ("it", "ordine n. 0612345678", ["0612345678"]),
    ("pt", "pedido 11993987167", ["11993987167"]), ("sv", "order 070-123 45 67 enligt kvittot", []),
    ("en", "Order ID: 536904417", ["536904417"]), ("nl", "order 123456782 kwam niet", ["123456782"]),
    ("en", "ticket #845512", ["845512"]), ("en", "Flight LH 1234 on 12/05", ["LH 1234"]),
    ("en", "license key for version 3 (plan Pro)", ["version 3"]), ("en", "Passport holder case, product 77120", ["77120"]),
]
for lang, text, values in keeps:
    add(lang, text, keep=values)

# Known names next to words that merely look like them, and mixed cases with both kinds.
add("en", "Hi Grace, the grace period ended on 14/03/2024.", hide=[("NAME", "Grace")],
    keep=["grace period", "14/03/2024"], people=[P("Grace Hopper", "grace@navy.test")])
add("en", "Order 4500012345 for Tom Becker, call +44 20 7946 0958", hide=[("NAME", "Tom Becker"), ("PHONE", "+44 20 7946 0958")],
    keep=["4500012345"], people=[P("Tom Becker", "tom@becker.test")])
add("de", "Bestellnummer 0301234567, Telefon 030 12345678, Lieferdatum 14.03.2024",
    hide=[("PHONE", "030 12345678")], keep=["0301234567", "14.03.2024"])
add("en", "card 4111 1111 1111 1111, order #4111111111", hide=[("CARD", "4111 1111 1111 1111")], keep=["4111111111"])
add("fr", "Commande 2024-118 : IBAN FR76 3000 6000 0112 3456 7890 189, livré le 14/03/2024",
    hide=[("IBAN", "FR76 3000 6000 0112 3456 7890 189")], keep=["2024-118", "14/03/2024"])
add("en", "DOB 14/03/1985, delivery 14/03/2024", hide=[("DATE_OF_BIRTH", "14/03/1985")], keep=["14/03/2024"])
add("en", "passport 533380006, order 533380007", hide=[("ID_DOCUMENT", "533380006")], keep=["533380007"])
add("en", "from 203.0.113.7 running app 2.14.0.3", hide=[("IP_ADDRESS", "203.0.113.7")], keep=["2.14.0.3"])

# ----- Held out: written after the detectors were finished, never used to change them ------------------------------
HOLDOUT_FROM = len(CASES)
held = [
    ("en", "pls ring 0161 496 0000 tmrw", [("PHONE", "0161 496 0000")], []),
    ("en", "my mob is 07700-900-461", [("PHONE", "07700-900-461")], []),
    ("de", "Rückrufnummer: +49 221 1234567", [("PHONE", "+49 221 1234567")], []),
    ("fr", "joignable au 07 81 23 45 67 le soir", [("PHONE", "07 81 23 45 67")], []),
    ("es", "mi número: 655 12 34 56", [("PHONE", "655 12 34 56")], []),
    ("nl", "Telefonisch bereikbaar via 0031 6 1234 5678", [("PHONE", "0031 6 1234 5678")], []),
    ("en", "Contact: Zoë.O'Neill@exämple.ie", [("EMAIL", "Zoë.O'Neill@exämple.ie")], []),
    ("en", "emailed from MARK_TWAIN1910@Example.COM yesterday", [("EMAIL", "MARK_TWAIN1910@Example.COM")], []),
    ("de", "Die Karte endet nicht auf 1111, sie lautet 4000 0566 5566 5556", [("CARD", "4000 0566 5566 5556")], []),
    ("en", "visa 4242-4242-4242-4242 exp 12/28", [("CARD", "4242-4242-4242-4242")], ["12/28"]),
    ("en", "debit card 2223003122003222", [("CARD", "2223003122003222")], []),
    ("fr", "RIB / IBAN : FR7630001007941234567890185", [("IBAN", "FR7630001007941234567890185")], []),
    ("de", "Konto: AT48 3200 0000 1234 5864", [("IBAN", "AT48 3200 0000 1234 5864")], []),
    ("en", "IBAN GB33BUKB20201555555555 for the refund", [("IBAN", "GB33BUKB20201555555555")], []),
    ("en", "SSN is 123-45-6789", [("NATIONAL_ID", "123-45-6789")], []),
    ("sv", "Mitt personnr är 19900101-0017", [("NATIONAL_ID", "19900101-0017")], []),
    ("es", "con DNI 00000000T", [("NATIONAL_ID", "00000000T")], []),
    ("it", "codice fiscale: BNCLRA80A41H501X", [("NATIONAL_ID", "BNCLRA80A41H501X")], []),
    ("en", "Please ship to 77 Mass Ave, Cambridge", [("ADDRESS", "77 Mass Ave")], []),
    ("en", "home: 3 Church Lane, York", [("ADDRESS", "3 Church Lane")], []),
    ("de", "Neue Adresse: Bahnhofstr. 7, 80335 München", [("ADDRESS", "Bahnhofstr. 7")], ["80335"]),
    ("nl", "adres: Prinsengracht 263", [("ADDRESS", "Prinsengracht 263")], []),
    ("fr", "au 8, rue du Faubourg Saint-Honoré", [("ADDRESS", "8, rue du Faubourg Saint-Honoré")], []),
    ("en", "my date of birth is 1 Jan 1990", [("DATE_OF_BIRTH", "1 Jan 1990")], []),
    ("de", "Geb.-Datum 03.07.1975", [("DATE_OF_BIRTH", "03.07.1975")], []),
    ("es", "nacida el 22/11/1988", [("DATE_OF_BIRTH", "22/11/1988")], []),
    ("en", "passport no: 987654321", [("ID_DOCUMENT", "987654321")], []),
    ("fr", "mon passeport : 09AB12345", [("ID_DOCUMENT", "09AB12345")], []),
    ("en", "my IP address is 100.64.12.3", [("IP_ADDRESS", "100.64.12.3")], []),
    ("en", "seen from ::ffff:192.0.2.128", [("IP_ADDRESS", "::ffff:192.0.2.128")], []),
    ("en", "Order #A-558213 shipped 2024-05-02", [], ["A-558213", "2024-05-02"]),
    ("de", "Auftragsnummer 4711081512, Liefertermin 12.06.2024", [], ["4711081512", "12.06.2024"]),
    ("fr", "n° de suivi 8R41234567890", [], ["8R41234567890"]),
    ("es", "el envío 0034123456789 llegó roto", [], ["0034123456789"]),
    ("en", "total 2,499.00 EUR incl. VAT", [], ["2,499.00"]),
    ("en", "product code 0044-2079-46", [], ["0044-2079-46"]),
    ("en", "It was delivered 03/04/2024 at 14:05", [], ["03/04/2024", "14:05"]),
    ("nl", "pakket 3SYZAB123456789 is vertraagd", [], ["3SYZAB123456789"]),
    ("en", "running version 192.168.0 beta", [], ["192.168.0"]),
    ("sv", "beställning 556677-8899 saknas", [], ["556677-8899"]),
]
for lang, text, hide, keep in held:
    add(lang, text, hide=hide, keep=keep)
for case in CASES[HOLDOUT_FROM:]:
    case["holdout"] = True

if __name__ == "__main__":
    out = Path(__file__).with_name("redaction_eval.json")
    out.write_text("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in CASES) + "\n]\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for c in CASES:
        for k, _ in c["hide"]:
            kinds[k] = kinds.get(k, 0) + 1
    print(len(CASES), "cases;", sum(len(c["keep"]) for c in CASES), "keep values;", kinds)
