"""Was a public reply of ours accepted? Only a positive signal says yes; silence and follow-ups never do.

    customer confirms ("thanks, that worked", "danke, hat geklappt")      accepted
    ticket solved and not reopened for autonomy.accept_after_days        accepted
    an agent writes publicly after our reply                              overridden (agent stepped in)
    the customer asks for a person, is frustrated or repeats the question overridden
    any other follow-up from the customer (a thanks with a "but", a new
    question), or nothing yet                                             not yet known (no review recorded)

The confirmation phrases are per language, like the safety net's, and matched on folded text (no accents).
A confirmation with a negation, a question or a "but" is not one: "thanks, but it still does not work".
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from drafting.overrides import similarity
from drafting.safety import asks_for_human, fold
from drafting.sentiment import assess

ACCEPTED, OVERRIDDEN = "accepted", "overridden"
SOLVED_STATUSES = frozenset({"solved", "closed", "resolved"})
REPEAT_SIMILARITY = 0.5  # word-sequence similarity with the question we answered: asking again

CONFIRMS: dict[str, tuple[str, ...]] = {
    "en": (r"thanks?", r"thank you", r"that (?:worked|works|helped|helps|did it|fixed it)", r"(?:it )?works now",
           r"(?:all )?(?:sorted|solved|resolved|fixed)", r"perfect", r"great", r"got it", r"all good", r"cheers"),
    "de": (r"danke\w*", r"vielen dank", r"hat (?:geklappt|funktioniert|geholfen)", r"funktioniert (?:jetzt|wieder)",
           r"perfekt", r"super", r"erledigt", r"gelost"),
    "fr": (r"merci\w*", r"(?:ca|cela) (?:marche|fonctionne|a marche|a fonctionne)", r"parfait", r"resolu",
           r"c ?est (?:bon|regle)"),
    "es": (r"gracias", r"(?:ya )?funciona", r"funciono", r"perfecto", r"resuelto", r"solucionado", r"genial"),
    "nl": (r"bedankt", r"dank (?:je|u) wel", r"dank je", r"het werkt", r"opgelost", r"perfect", r"top"),
    "sv": (r"tack\w*", r"det fungerar", r"det funkar", r"det (?:lost|ordnade) sig", r"lost", r"perfekt", r"toppen"),
    "it": (r"grazie", r"funziona", r"ha funzionato", r"risolto", r"perfetto"),
    "pt": (r"obrigad[oa]s?", r"funcionou", r"funciona", r"resolvido", r"perfeito"),
}
# Words that turn a thanks into a complaint: negations, "still", "but", in the same languages.
UNDOING = re.compile(
    r"(?<!\w)(?:not|no|never|t|still|but|however|yet|anymore|again|nicht|kein\w*|noch|aber|immer noch|trotzdem"
    r"|pas|toujours|mais|encore|no|todavia|aun|pero|sigue|niet|nog|maar|inte|fortfarande|men|non|ancora|ma|nao"
    r"|ainda|mas)(?!\w)")
_CONFIRM_RULES = [re.compile(rf"(?<!\w)(?:{p})(?!\w)") for patterns in CONFIRMS.values() for p in patterns]


@dataclass(frozen=True)
class Verdict:
    outcome: str  # accepted | overridden
    reason: str


def confirms(text: str) -> bool:
    """The customer says it worked: a confirmation phrase, and nothing that undoes it (negation, but, question)."""
    folded = fold(text)
    if "?" in folded or UNDOING.search(folded):
        return False
    return any(rule.search(folded) for rule in _CONFIRM_RULES)


def customer_follow_up(text: str, question: str, answered_public_reply: bool = True) -> Verdict | None:
    """What the customer's next message says about our public reply; None when it says nothing either way."""
    phrase = asks_for_human(text, answering_public_reply=answered_public_reply)
    if phrase:
        return Verdict(OVERRIDDEN, f"customer asked for a person ({phrase!r})")
    mood = assess(text, [question] if question else [])
    if mood.frustrated:
        return Verdict(OVERRIDDEN, "customer frustrated: " + "; ".join(mood.reasons))
    if question and similarity(question, text) >= REPEAT_SIMILARITY:
        return Verdict(OVERRIDDEN, "customer repeated the question")
    if confirms(text):
        return Verdict(ACCEPTED, "customer confirmed")
    return None


def solved_and_kept(status: str, replied_at: float, now: float, accept_after_days: float,
                    later_comments: Sequence[object]) -> Verdict | None:
    """Accepted when nobody wrote after our reply and the ticket has stayed solved long enough.

    "Not reopened" is read from the ticket itself: a customer reopening it writes a comment (judged above), and a
    ticket that is open again is not solved now. The clock runs from our reply, the latest moment it can have
    been solved from.
    """
    if later_comments or status.lower() not in SOLVED_STATUSES:
        return None
    if now - replied_at < accept_after_days * 86400:
        return None
    return Verdict(ACCEPTED, f"ticket {status} and not reopened for {accept_after_days:g} days")
