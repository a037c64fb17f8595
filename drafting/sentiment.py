"""Sentiment and frustration from rules a support lead can read: no model call, every verdict has reasons.

Frustration is any of: anger words or insults, repeated-issue phrases ("third time", "still not",
"again", "nobody answers"), three or more exclamation marks, shouting in capitals, or repeated
contact (two or more earlier customer messages in an open thread: the issue is not resolved yet).
Sentiment is negative when frustrated or when negative words outweigh positive ones, positive when
positive words win, neutral otherwise. Whether frustration escalates or only softens the tone is the
caller's decision, from config.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from deskdraft.text.html_text import plain_text
from drafting.safety import fold

# Folded (no accents, lower case, apostrophes as spaces), like drafting.safety.
ANGER: dict[str, tuple[str, ...]] = {
    "en": (r"useless", r"ridiculous", r"pathetic", r"incompetent", r"idiots?", r"stupid", r"disgrace\w*", r"disgusting",
           r"unacceptable", r"outrage\w*", r"furious", r"angry", r"livid", r"fed up", r"sick (?:and tired )?of", r"worst",
           r"terrible", r"horrible", r"awful", r"joke", r"shameful", r"shocking", r"rip ?-?off", r"wtf", r"damn\w*",
           r"crap\w*", r"shit\w*", r"f+u+c+k\w*", r"bloody", r"fed-up", r"a nightmare", r"waste of (?:my )?time"),
    "de": (r"unverschamt\w*", r"frechheit", r"lacherlich", r"katastroph\w*", r"inkompetent\w*", r"sauer", r"wutend",
           r"unzumutbar", r"unmoglich", r"skandal\w*", r"armselig", r"mist", r"schei(?:ss|ß)\w*", r"idioten?", r"zum kotzen",
           r"die nase voll", r"reicht mir", r"verarsch\w*", r"abzocke\w*", r"schlechteste\w*"),
    "fr": (r"inadmissible", r"scandaleu\w*", r"honteu\w*", r"ridicule", r"inacceptable", r"en colere", r"furieu\w*",
           r"marre", r"(?:c est|vraiment|service|totalement|completement) nul(?:le)?", r"incompetent\w*", r"lamentable", r"pire", r"n ?importe quoi", r"foutez?", r"merde"),
    "es": (r"verguenza", r"inaceptable", r"ridicul[oa]", r"hart[oa]", r"indignante", r"pesim[oa]", r"furios[oa]",
           r"enfadad[oa]", r"molest[oa]", r"incompetentes?", r"inutiles?", r"una estafa", r"una broma", r"harta de"),
    "nl": (r"belachelijk", r"schandalig", r"onacceptabel", r"waardeloos", r"boos", r"woedend", r"incompetent\w*",
           r"het zat", r"bespottelijk", r"slechtste", r"schandaal"),
    "sv": (r"bedrovligt", r"oacceptabelt", r"skandal\w*", r"lojligt", r"arg", r"forbannad", r"inkompetent\w*", r"trott pa",
           r"uselt?", r"vardelos\w*", r"samsta"),
    "it": (r"vergogna\w*", r"inaccettabile", r"ridicol[oa]", r"pessim[oa]", r"stuf[oa]", r"arrabbiat[oa]", r"furios[oa]",
           r"incompetenti", r"inutil[ei]", r"assurdo", r"schifo\w*"),
    "pt": (r"vergonha", r"inaceitavel", r"ridicul[oa]", r"pessim[oa]", r"fart[oa]", r"absurd[oa]", r"furios[oa]",
           r"irritad[oa]", r"incompetentes?", r"inuteis", r"palhacada", r"descaso"),
}

# The issue came back, or the customer has been waiting: "this is the third time".
REPEAT: dict[str, tuple[str, ...]] = {
    "en": (r"(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time", r"(?:[2-9]|several|multiple|many|so many) times (?:now|already)",
           r"still (?:not|no|nothing|haven ?t|hasn ?t|waiting|don ?t|doesn ?t|can ?t|isn ?t|won ?t)",
           r"yet again", r"again and again", r"(?:happened|happening|wrong|broken|declined|failed|charged|same \w+|not working) again",
           r"again\s*[!?]*!", r"keep (?:asking|telling|getting|calling|writing)", r"no one (?:answers|replies|responds|has)",
           r"nobody (?:answers|replies|responds|has|is)", r"no (?:answer|reply|response) (?:yet|from)", r"how many times",
           r"already (?:told|explained|sent|asked|wrote|written|contacted|called)", r"(?:weeks|months) now", r"ignored", r"for (?:weeks|days|months)"),
    "de": (r"(?:zweite|dritte|vierte|funfte|\d+\.) mal", r"zum (?:zweiten|dritten|x-ten) mal", r"immer noch (?:nicht|kein\w*)",
           r"noch immer (?:nicht|kein\w*)", r"schon wieder", r"wieder (?:nicht|kein\w*|falsch|abgelehnt)", r"niemand (?:antwortet|meldet|reagiert)",
           r"keine antwort", r"wie oft", r"bereits (?:geschrieben|erklart|mitgeteilt|angerufen)", r"seit (?:wochen|tagen|monaten)"),
    "fr": (r"(?:deuxieme|troisieme|quatrieme|\d+e) fois", r"toujours (?:pas|rien|aucun\w*)", r"encore une fois", r"de nouveau (?:pas|refuse\w*|bloque\w*)",
           r"personne ne (?:repond|me repond)", r"aucune reponse", r"combien de fois", r"deja (?:ecrit|explique|envoye|appele)",
           r"depuis des (?:semaines|jours|mois)"),
    "es": (r"(?:segunda|tercera|cuarta|\d+a) vez", r"todavia no", r"aun no", r"sigo (?:sin|esperando)", r"otra vez (?:no|lo mismo|el mismo)", r"una vez mas", r"de nuevo no",
           r"nadie (?:responde|contesta)", r"ninguna respuesta", r"sin respuesta", r"cuantas veces",
           r"ya (?:les )?(?:escribi|explique|envie|llame)", r"(?:hace|desde hace) (?:semanas|dias|meses)"),
    "nl": (r"(?:tweede|derde|vierde|\d+e) keer", r"nog steeds (?:niet|geen|niks)", r"alweer", r"weer (?:niet|geen)",
           r"niemand (?:reageert|antwoordt)", r"geen (?:antwoord|reactie)", r"hoe vaak", r"al (?:eerder )?(?:gemaild|uitgelegd|gebeld)",
           r"al (?:weken|dagen|maanden)"),
    "sv": (r"(?:andra|tredje|fjarde|\d+:e) gangen", r"fortfarande (?:inte|ingen|inget)", r"(?:inte|fel) igen", r"annu en gang", r"ingen svarar", r"inget svar",
           r"hur manga ganger", r"redan (?:skrivit|forklarat|ringt)", r"i (?:veckor|dagar|manader)"),
    "it": (r"(?:seconda|terza|quarta|\d+a) volta", r"ancora (?:non|niente|nessun\w*)", r"di nuovo non", r"ancora una volta",
           r"nessuno (?:risponde|mi risponde)", r"nessuna risposta", r"quante volte", r"gia (?:scritto|spiegato|chiamato)",
           r"da (?:settimane|giorni|mesi)"),
    "pt": (r"(?:segunda|terceira|quarta|\d+a) vez", r"ainda nao", r"continuo (?:sem|esperando|a espera)", r"de novo nao", r"outra vez (?:nao|o mesmo)", r"mais uma vez", r"ninguem (?:responde|me responde)", r"nenhuma resposta", r"sem resposta", r"quantas vezes",
           r"ja (?:escrevi|expliquei|enviei|liguei)", r"ha (?:semanas|dias|meses)"),
}

POSITIVE: dict[str, tuple[str, ...]] = {
    "en": (r"thanks?", r"thank you", r"great", r"perfect", r"excellent", r"awesome", r"appreciate\w*", r"happy", r"love",
           r"helpful", r"wonderful", r"brilliant", r"amazing", r"cheers", r"resolved", r"works now"),
    "de": (r"danke\w*", r"super", r"toll", r"perfekt", r"prima", r"klasse", r"hervorragend", r"zufrieden", r"freundlich", r"hilfreich"),
    "fr": (r"merci", r"super", r"parfait", r"excellent\w*", r"genial", r"content\w*", r"ravie?", r"top"),
    "es": (r"gracias", r"genial", r"perfecto", r"excelente", r"estupendo", r"content[oa]", r"encantad[oa]", r"amable"),
    "nl": (r"bedankt", r"dank (?:je|u)\w*", r"super", r"perfect", r"geweldig", r"top", r"tevreden", r"fijn"),
    "sv": (r"tack", r"toppen", r"perfekt", r"jattebra", r"underbart", r"nojd", r"bra"),
    "it": (r"grazie", r"perfetto", r"ottimo", r"fantastico", r"content[oa]", r"gentilissim[oi]"),
    "pt": (r"obrigad[oa]", r"otimo", r"perfeito", r"excelente", r"maravilh\w*", r"content[oa]", r"feliz"),
}

NEGATIVE: dict[str, tuple[str, ...]] = {
    "en": (r"problem\w*", r"issue", r"wrong", r"broken", r"bad", r"poor", r"disappoint\w*", r"unhappy", r"upset", r"annoy\w*",
           r"frustrat\w*", r"complain\w*", r"not happy", r"not working", r"doesn ?t work", r"failed", r"error", r"worried", r"confused"),
    "de": (r"problem\w*", r"falsch", r"kaputt", r"schlecht", r"enttausch\w*", r"unzufrieden", r"argerlich", r"\w*arger\w*",
           r"beschwerde", r"funktioniert nicht", r"fehler\w*", r"leider"),
    "fr": (r"probleme\w*", r"mauvais\w*", r"decu\w*", r"mecontent\w*", r"plainte", r"ne fonctionne pas", r"ne marche pas",
           r"erreur", r"casse\w*", r"malheureusement"),
    "es": (r"problema\w*", r"mal[oa]?", r"decepcion\w*", r"no funciona", r"error", r"queja", r"roto", r"desafortunadamente"),
    "nl": (r"probleem", r"problemen", r"slecht", r"teleurgesteld", r"ontevreden", r"werkt niet", r"fout", r"kapot", r"helaas", r"klacht"),
    "sv": (r"problem\w*", r"daligt?", r"besviken", r"missnojd", r"fungerar inte", r"fel", r"trasig", r"tyvarr", r"klagomal"),
    "it": (r"problem\w*", r"sbagliat[oa]", r"delus[oa]", r"scontent[oa]", r"non funziona", r"errore", r"rott[oa]", r"purtroppo", r"reclamo"),
    "pt": (r"problema\w*", r"errad[oa]", r"decepcionad[oa]", r"insatisfeit[oa]", r"nao funciona", r"erro", r"quebrad[oa]",
           r"infelizmente", r"reclamacao"),
}

EXCLAMATIONS = 3  # "!!!" or three sentences ending in "!"
CAPS_MIN_LETTERS = 12  # shorter shouting ("HELP", "URGENT") is too little to judge
CAPS_SHARE = 0.7
REPEATED_CONTACT = 2  # earlier customer turns in this thread before the latest one


def _compile(table: dict[str, tuple[str, ...]]) -> list[re.Pattern[str]]:
    return [re.compile(rf"(?<!\w)(?:{p})(?!\w)") for patterns in table.values() for p in patterns]


_ANGER, _REPEAT, _POSITIVE, _NEGATIVE = map(_compile, (ANGER, REPEAT, POSITIVE, NEGATIVE))
_CAPS_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
_NUMBERED = {1: "st", 2: "nd", 3: "rd"}


@dataclass(frozen=True)
class Mood:
    sentiment: str  # "positive" | "neutral" | "negative"
    frustrated: bool
    reasons: tuple[str, ...]


def _matches(patterns: list[re.Pattern[str]], text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0) for p in patterns for m in [p.search(text)] if m))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else _NUMBERED.get(n % 10, "th")
    return f"{n}{suffix}"


def _shouting(text: str) -> bool:
    words = _CAPS_WORD.findall(text)
    letters = sum(len(w) for w in words)
    if letters < CAPS_MIN_LETTERS:
        return False
    upper = sum(len(w) for w in words if w.isupper())
    return upper / letters >= CAPS_SHARE


def assess(latest: str, earlier_customer_turns: Sequence[str]) -> Mood:
    """The mood of the latest customer message, given the customer's earlier messages in the thread."""
    raw = plain_text(latest or "")
    text = fold(raw)
    reasons: list[str] = []
    anger = _matches(_ANGER, text)
    if anger:
        reasons.append("angry words: " + ", ".join(anger[:3]))
    repeat = _matches(_REPEAT, text)
    if repeat:
        reasons.append("repeated issue: " + ", ".join(repeat[:3]))
    if raw.count("!") >= EXCLAMATIONS:
        reasons.append(f"{raw.count('!')} exclamation marks")
    if _shouting(raw):
        reasons.append("all caps")
    earlier = [turn for turn in earlier_customer_turns if turn and turn.strip()]
    if len(earlier) >= REPEATED_CONTACT:
        reasons.append(f"repeated contact: {_ordinal(len(earlier) + 1)} message")
    frustrated = bool(reasons)

    positive, negative = _matches(_POSITIVE, text), _matches(_NEGATIVE, text)
    if frustrated or len(negative) > len(positive):
        sentiment = "negative"
    elif len(positive) > len(negative):
        sentiment = "positive"
    else:
        sentiment = "neutral"
    return Mood(sentiment, frustrated, tuple(reasons))
