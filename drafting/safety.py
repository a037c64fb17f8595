"""Rule-based risk safety net: words and phrases that send a ticket to a human whatever the router says.

Risky cases (disputes, fraud, stolen cards, hardship, legal threats, account closure, bereavement,
self-harm) belong to humans from turn one. The router can be unsure or wrong; these rules catch the
words that make a case risky even then. They err on the side of a human: "fraud protection settings"
is flagged too. Nothing a ticket says can switch a rule off ("this is not a dispute" still says dispute).

Matching works on folded text (HTML entities decoded, invisible characters dropped, accents stripped,
casefolded, Cyrillic/Greek look-alikes inside Latin words mapped to Latin), so the patterns below are
written without accents and in lower case. Each pattern is wrapped in word boundaries; a pattern that
should also match inside German/Dutch/Swedish compounds says so with \\w*. URLs and e-mail addresses
are removed first: an identifier is not a statement ("/disputed/123" in a link is no reason).
Text hidden in HTML (display:none, comments, split by tags) is caught because both the raw text and
a tag-stripped copy are scanned.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deskdraft.text.html_text import plain_text
from deskdraft.text.patterns import URL_OR_EMAIL

_NEAR = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between: "card was just stolen"
_POSS = r"(?:my |the |our |this |that |his |her )?"


def near(a: str, b: str) -> str:
    """a within a few words of b, in either order ("lost my card", "card ... lost")."""
    return rf"(?:(?:{a}){_NEAR}(?:{b})|(?:{b}){_NEAR}(?:{a}))"


_CARD_EN = r"cards?|wallet|purse|phone|mobile|bag|handbag|debit card|credit card"
_CARD_DE = r"\w*karte\w*|geldborse|geldbeutel|portemonnaie|brieftasche|handy|telefon|handtasche|tasche"
_CARD_FR = r"cartes?|portefeuille|porte-monnaie|telephone|portable|sac"
_CARD_ES = r"tarjetas?|cartera|billetera|movil|telefono|celular|bolso"
_CARD_NL = r"\w*pas|\w*kaart\w*|portemonnee|portefeuille|telefoon|mobiel|tas"
_CARD_SV = r"\w*kort\w*|planbok|telefon|mobil\w*|vaska"
_CARD_IT = r"carta|carte|bancomat|portafoglio|telefono|cellulare|borsa"
_CARD_PT = r"cartao|cartoes|carteira|telemovel|celular|telefone|bolsa"

# flag -> language -> patterns. Flags are what a note shows and what config may extend.
PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "chargeback": {
        "en": (r"charge ?-?backs?", r"dispute[sd]?", r"disputing", r"reverse (?:the |this |that )?(?:payment|charge|transaction)",
               # ATM claims: the machine gave too little, or kept the money of a declined withdrawal.
               r"(?:atm|cash machine|cashpoint|withdrawal)s? (?:\w+ ){0,6}?(?:partly|partially|only (?:gave|dispensed)"
               r"|didn ?t (?:give|dispense)|did not (?:give|dispense)|wrong amount|less (?:cash|money|than))",
               r"(?:declined|failed|cancelled|canceled|rejected) (?:\w+ ){0,4}?(?:withdraw\w*|cash) (?:\w+ ){0,6}?(?:returned|refunded"
               r"|back|deducted|taken|still (?:pending|showing))"),
        "de": (r"chargebacks?", r"\w*ruckbuchung\w*", r"\w*ruckbelastung\w*", r"widerspruch\w*", r"widersprech\w*",
               r"beanstand\w*", r"lastschrift\w* zuruck\w*"),
        "fr": (r"litiges?", r"contest(?:er|e|ation|ations|ons)", r"retrofacturation\w*", r"rejet de prelevement"),
        "es": (r"disputas?", r"contracargos?", r"impugn\w*", r"desconocer (?:el|un|este) cargo"),
        "nl": (r"terugboek\w*", r"betwist\w*", r"\w*geschil\w*", r"storneer\w*", r"storneren"),
        "sv": (r"tvist\w*", r"bestrid\w*", r"aterkrav\w*", r"aterbetalningskrav"),
        "it": (r"contestazion\w*", r"contestare (?:il|l|un|questo|questa|la)\W", r"disconosc\w*", r"riaddebit\w*",
               r"storno (?:di |dell |del |della )?(?:addebito|pagamento)"),
        "pt": (r"contestac\w*", r"contestar (?:a|o|uma|um|esta|este|essa|esse) (?:compra|cobranca|transacao|pagamento)",
               r"estornar (?:a|o) (?:cobranca|compra)"),
    },
    "fraud": {
        "en": (r"fraud\w*", r"scam\w*", r"phishing", r"unauthori[sz]ed", r"not authori[sz]ed", r"hack(?:ed|er|ers)?",
               r"(?:did not|didn ?t|didnt|never|have not|haven ?t|has not|hasn ?t) (?:authori[sz]ed?|approved?|recogni[sz]ed?"
               r"|consent(?:ed)? to|sign(?:ed)? up for)",
               r"(?:did not|didn ?t|didnt|never) (?:make|made|do|did|order|ordered|buy|bought|purchase|purchased|request|requested)"
               r" (?:this|that|these|those|them|any of (?:these|them|this)|the (?:payment|purchase|transaction|charge|withdrawal"
               r"|transfer|debit)s?)",
               r"(?:payments?|purchases?|transactions?|charges?|withdrawals?|transfers?|debits?|stores?|shops?) (?:that )?i"
               r" (?:did not|didn ?t|didnt|never|have not|haven ?t) (?:make|made|authori[sz]e|do|did|go|been|visit\w*|buy|bought"
               r"|order\w*|recogni[sz]e)",
               r"(?:do not|don ?t|dont|cannot|can ?t) recogni[sz]e", r"not recogni[sz]ed", r"unrecogni[sz]ed",
               r"someone (?:else )?(?:has |have |is |was )?(?:used|using|accessed|accessing|took|taken|stole|hacked|withdr[ae]w)",
               r"identity theft", r"stolen identity", r"compromised", r"cloned",
               r"what (?:is|are|s) (?:this|these|that|those) (?:\w+ )?(?:charges?|payments?|transactions?|debits?|withdrawals?)",
               r"(?:unknown|strange|weird|odd|mystery|random) (?:\w+ )?(?:charges?|payments?|transactions?|debits?|withdrawals?)",
               r"suspicious (?:transaction|payment|activity|charge|login|email|call|text|message)s?",
               r"skimm(?:ed|ing|er)", r"police (?:report|reference|case|complaint|officer)s?", r"crime (?:reference|number)",
               r"(?:reported|report|went|go) (?:it |this |that )?to the police"),
        "de": (r"\w*betrug\w*", r"\w*betrog\w*", r"betruger\w*", r"nicht autorisiert\w*", r"unberechtigt\w*", r"gehackt",
               r"phishing", r"\w*missbrauch\w*", r"identitatsdiebstahl", r"abbuchung\w* (?:die )?ich nicht",
               r"(?:kenne|erkenne) ich nicht", r"nicht von mir", r"habe ich nicht (?:gemacht|getatigt|veranlasst|bestellt|gekauft)",
               r"polizei\w*", r"\w*anzeige (?:erstattet|erstatten|aufgegeben)", r"strafanzeige"),
        "fr": (r"fraud\w*", r"arnaqu\w*", r"escroqu\w*", r"pirate[es]?", r"piratage", r"hameconnage",
               r"non autoris\w*", r"je ne reconnais pas", r"usurpation d ?identite",
               r"(?:je )?n ?ai (?:pas|jamais) (?:fait|effectue|autorise|commande|achete)",
               r"commissariat", r"(?:a la|la) police", r"gendarmerie"),
        "es": (r"fraude\w*", r"fraudulent\w*", r"estafa\w*", r"timad[oa]s?", r"no autoriz\w*", r"no (?:lo )?reconozco",
               r"yo no (?:hice|realice|autorice|compre)", r"hackea\w*", r"suplantacion de identidad", r"robo de identidad",
               r"policia", r"comisaria"),
        "nl": (r"\w*fraude\w*", r"opgelicht", r"oplicht\w*", r"niet geautoriseerd", r"niet door mij", r"gehackt",
               r"niet herken\w*", r"herken (?:ik )?(?:deze |die |dit |het |de )?(?:\w+ )?niet",
               r"politie", r"aangifte (?:gedaan|doen)"),
        "sv": (r"\w*bedrageri\w*", r"bedragare", r"bedragen", r"obehorig\w*", r"hackad\w*", r"kapad\w*", r"bluff\w*",
               r"kanner inte igen", r"inte godkant", r"polis\w*"),
        "it": (r"frode", r"frodi", r"fraudolent\w*", r"truff\w*", r"non autorizzat\w*", r"non (?:lo |la )?riconosco",
               r"hackerat\w*", r"clonat\w*", r"furto d ?identita", r"furto di identita",
               r"polizia", r"carabinieri"),
        "pt": (r"fraude\w*", r"fraudulent\w*", r"golpes?", r"golpista\w*", r"nao autoriz\w*", r"nao reconheco",
               r"nao fui eu", r"clonad[oa]s?", r"roubo de identidade", r"hackead\w*",
               r"policia", r"boletim de ocorrencia"),
    },
    "lost_or_stolen": {
        "en": (r"stolen", r"stole", r"steal\w*", r"theft", r"thief", r"robbed", r"mugged", r"pickpocket\w*",
               near(r"lost|losing|misplaced|can ?t find|cannot find", _CARD_EN),
               r"(?:block|lock) " + _POSS + r"(?:\w+ )?card", r"freez\w*"),
        "de": (r"gestohlen", r"geklaut", r"\w*diebstahl\w*", r"ausgeraubt", r"beklaut",
               near(r"verloren|verlegt", _CARD_DE), r"(?:karte|handy|geldborse|portemonnaie|brieftasche) ist weg", r"\w*karte\w* sperren", r"sperren sie", r"einfrieren"),
        "fr": (r"vol(?:e|ee|es|ees)", r"vol de (?:ma|mon|mes|la|le|carte|portefeuille|telephone|sac|papiers|identite)", r"on m ?a vole", r"cambriol\w*",
               near(r"perdu|perdue|perdus|egare|egaree|trouve plus", _CARD_FR), r"faire opposition", r"fait opposition",
               r"(?:bloquer|geler) (?:ma|la) carte"),
        "es": (r"robad[oa]s?", r"robo", r"robaron", r"hurt(?:o|ado|ada|aron)",
               near(r"perdi|perdido|perdida|extravi\w*|no encuentro", _CARD_ES), r"(?:bloquear|congelar) (?:mi |la )?tarjeta"),
        "nl": (r"gestolen", r"\w*diefstal\w*", r"beroofd", r"gerold",
               near(r"kwijt|verloren|vind", _CARD_NL), r"(?:pas|kaart) blokkeren", r"blokkeer", r"bevriez\w*"),
        "sv": (r"stul(?:en|et|na)", r"\w*stold\w*", r"rånad", r"ranad",
               near(r"tappat|tappade|borttappad\w*|forlorat|forsvunnen|hittar inte", _CARD_SV), r"sparra\w*", r"frys\w* (?:mitt |kortet)"),
        "it": (r"rubat[oaie]", r"furto", r"derubat\w*", r"scippat\w*",
               near(r"perso|persa|smarrit[oaie]|smarrimento|trovo piu", _CARD_IT), r"(?:bloccare|congelare) (?:la |il )?(?:mia |mio )?(?:carta|bancomat)"),
        "pt": (r"roubad[oa]s?", r"roubo", r"roubaram", r"furtad[oa]s?", r"furto",
               near(r"perdi|perdido|perdida|extravi\w*", _CARD_PT), r"(?:bloquear|congelar) (?:o |meu |o meu )?cartao"),
    },
    "hardship": {
        "en": (r"(?:can ?not|can ?t|cant|unable to|not able to|couldn ?t|won ?t be able to) (?:afford|pay(?! (?:with|by|using|via|in|at|on|online|through|for|from|it|this|that)(?!\w))|make (?:the |my )?payments?)",
               r"bankrupt\w*", r"insolven\w*", r"debt collect\w*", r"debts?", r"in arrears", r"(?:lost|losing) my (?:job|income)",
               r"unemployed", r"made redundant", r"redundancy", r"laid off", r"financial (?:hardship|difficult\w*|trouble|problems)",
               r"struggling (?:to pay|financially|with (?:money|payments|bills))", r"behind (?:on|with) (?:my )?(?:payments|bills|rent)",
               r"bailiffs?", r"no money (?:left|to pay)"),
        "de": (r"kann (?:\w+ )?nicht mehr (?:\w+ )?(?:zahlen|bezahlen)", r"kann (?:die |meine )?(?:rechnung|rate|raten|miete)\w* nicht (?:mehr )?(?:zahlen|bezahlen)", r"zahlungsunfahig\w*", r"\w*insolven\w*", r"pleite",
               r"bankrott", r"arbeitslos\w*", r"(?:job|arbeit|arbeitsplatz) verloren", r"\w*inkasso\w*", r"(?:meine|viele|hohe) schulden", r"schuldner\w*", r"verschuldet", r"schuldenfalle",
               r"finanzielle\w* (?:not|notlage|schwierigkeiten|probleme)", r"gerichtsvollzieher", r"mahnbescheid"),
        "fr": (r"(?:ne )?(?:peux|pouvons|peut) (?:pas|plus) payer(?! (?:avec|par|en ligne|via|sur|en)(?!\w))", r"pas les moyens", r"difficultes? financieres?", r"surendett\w*",
               r"faillite", r"chomage", r"perdu mon (?:emploi|travail|boulot)", r"recouvrement", r"huissiers?", r"dettes?"),
        "es": (r"no (?:puedo|podemos|puede) (?:pagar(?! (?:con|por|en|online|desde|mediante)(?!\w))|hacer frente)", r"no me alcanza", r"quiebra", r"bancarrota", r"insolvencia",
               r"en paro", r"desemplead[oa]s?", r"perdi (?:mi |el )?(?:trabajo|empleo)", r"dificultades (?:economicas|financieras)",
               r"cobradore?s?", r"recobro", r"deudas?", r"embargar\w*", r"me (?:van a )?embarga\w*", r"embargo de (?:mi|la|el) \w+"),
        "nl": (r"kan (?:\w+ )?niet (?:meer )?betalen(?! (?:met|via|online|per|in)(?!\w))", r"failliet", r"faillissement", r"werkloos", r"(?:baan|werk) kwijt",
               r"ontslagen", r"\w*incasso\w*", r"deurwaarder\w*", r"schulden", r"schuldsanering", r"\w*betalingsproblemen",
               r"financiele (?:problemen|moeilijkheden|nood)", r"schuldhulp\w*"),
        "sv": (r"kan inte betala(?! (?:med|via|online|i|pa)(?!\w))", r"har inte rad", r"konkurs\w*", r"arbetslos", r"forlorat (?:mitt )?jobb\w*", r"blivit uppsagd",
               r"\w*inkasso\w*", r"kronofogden?", r"skulder", r"ekonomiska (?:svarigheter|problem)", r"betalningsanmarkning\w*"),
        "it": (r"non (?:posso|riesco a|possiamo) (?:piu )?pagare(?! (?:con|tramite|online|in|col)(?!\w))", r"bancarotta", r"fallimento", r"fallit[oa]", r"disoccupat[oa]",
               r"perso il (?:mio )?lavoro", r"licenziat[oa]", r"recupero crediti", r"debiti", r"pieno di debiti",
               r"difficolta (?:economiche|finanziarie)", r"pignoramento"),
        "pt": (r"nao (?:consigo|posso|podemos) (?:mais )?pagar(?! (?:com|pelo|pela|no|na|via|online|por)(?!\w))", r"falencia", r"falid[oa]", r"insolvencia", r"desempregad[oa]",
               r"perdi (?:o )?(?:meu )?emprego", r"dividas?", r"endividad[oa]", r"cobradores?",
               r"dificuldades? financeiras?"),
    },
    "legal": {
        "en": (r"lawyers?", r"attorneys?", r"solicitors?", r"legal (?:action|proceedings|advice|team)", r"court", r"sue (?:you|your|them|the|this|for|over)", r"(?:will|going to|gonna|to|shall|would|could) sue",
               r"suing", r"lawsuit", r"ombudsman", r"regulators?", r"trading standards", r"small claims", r"fca", r"cfpb",
               r"gdpr", r"data protection (?:authority|complaint|officer)", r"ico", r"subject access request",
               r"report (?:you|this) to"),
        "de": (r"\w*anwalt\w*", r"\w*anwalte\w*", r"rechtliche\w* schritte", r"verklag\w*", r"klage (?:einreichen|erheben)",
               r"gericht\w*", r"verbraucherzentrale", r"bafin", r"datenschutzbehorde", r"dsgvo", r"schlichtungsstelle",
               r"ombuds\w*"),
        "fr": (r"avocats?", r"action en justice", r"justice", r"tribunal\w*", r"porter plainte", r"plainte", r"mediateur",
               r"rgpd", r"cnil", r"acpr", r"poursuites?"),
        "es": (r"abogad[oa]s?", r"demandar\w*", r"una demanda", r"tribunal\w*", r"juzgado", r"acci(?:on|ones) legal(?:es)?",
               r"denuncia\w*", r"rgpd", r"defensor del (?:cliente|consumidor|pueblo)", r"reclamacion oficial"),
        "nl": (r"advocaat", r"juridische stappen", r"rechter", r"rechtbank", r"aanklagen", r"(?:de|volgens de|onder de) avg", r"avg-\w+", r"kifid",
               r"autoriteit persoonsgegevens", r"afm", r"ombudsman", r"geschillencommissie"),
        "sv": (r"advokat\w*", r"jurist\w*", r"stamning", r"stamma (?:er|dig|er|foretaget|banken)", r"domstol\w*",
               r"tingsratt\w*", r"arn", r"konsumentverket", r"finansinspektionen", r"imy", r"gdpr"),
        "it": (r"avvocat[oi]", r"azion[ei] legal[ei]", r"tribunale", r"denunci\w*", r"fare causa", r"faro causa", r"querela",
               r"garante (?:della )?privacy", r"arbitro bancario", r"abf"),
        "pt": (r"advogad[oa]s?", r"vou (?:te |vos |voces )?processar", r"processar (?:voces|vcs|a empresa|judicialmente)", r"tribunal", r"acao judicial", r"justica", r"procon",
               r"lgpd", r"rgpd", r"banco de portugal", r"banco central"),
    },
    "account_closure": {
        "en": (r"(?:close|closing|delete|deleting|cancel|cancelling|canceling|terminate|terminating|deactivate|shut down) "
               + _POSS + r"(?:\w+ )?accounts?",
               r"account (?:closure|deletion|termination|cancellation)", r"right to be forgotten",
               r"(?:erase|delete) (?:all )?(?:of )?my (?:personal )?data"),
        "de": (r"\w*konto\w* (?:\w+ )?(?:kundigen|schliessen|loschen|auflosen)", r"\w*kontokundigung", r"kontoschliessung",
               r"kontoauflosung", r"account (?:\w+ )?loschen", r"(?:kundige|losche|schliesse)n? (?:sie )?(?:mein|das) (?:konto|account)",
               r"meine daten loschen"),
        "fr": (r"(?:fermer|cloturer|supprimer|resilier|fermeture|cloture|suppression) (?:de |du |d )?(?:mon |le |ce )?compte",),
        "es": (r"(?:cerrar|cancelar|eliminar|borrar|dar de baja|cierre de|baja de) (?:mi |la |esta )?cuenta", r"darme de baja"),
        "nl": (r"(?:account|rekening) (?:\w+ )?(?:opzeggen|sluiten|opheffen|verwijderen)",
               r"(?:opzeggen|sluiten|opheffen|verwijder\w*|opzegging) (?:van )?(?:mijn |de )?(?:account|rekening)"),
        "sv": (r"(?:avsluta|stanga|radera|ta bort|saga upp) (?:mitt |ert )?kont(?:o|ot)",),
        "it": (r"(?:chiudere|chiudi|cancellare|eliminare|chiusura) (?:del |il |l )?(?:mio )?(?:conto|account)",),
        "pt": (r"(?:fechar|encerrar|cancelar|excluir|apagar|encerramento) (?:d)?(?:a )?(?:minha )?conta",),
    },
    "bereavement": {
        "en": (r"passed away", r"deceased", r"bereave\w*", r"funeral", r"probate", r"executor", r"death certificate",
               r"(?:has|have|had|recently|sadly|just) (?:died|passed)",
               r"(?:husband|wife|partner|father|mother|dad|mum|mom|son|daughter|brother|sister|grandmother|grandfather) died",
               r"late (?:husband|wife|partner|father|mother|dad|mum|mom|son|daughter)", r"(?:his|her|their|the) estate"),
        "de": (r"verstorben\w*", r"gestorben", r"\w*todesfall", r"sterbeurkunde", r"erbschein", r"beerdigung",
               r"trauerfall", r"erben", r"erbe", r"erbschaft\w*", r"nachlassgericht", r"nachlassverwalt\w*"),
        "fr": (r"decede\w*", r"deces", r"(?:mari|femme|pere|mere|fils|fille|frere|soeur|epoux|epouse|conjointe?|compagnon|compagne) (?:\w+ )?est morte?",
               r"obseques", r"funerailles", r"notaire", r"dossier de succession", r"heritiers?"),
        "es": (r"fallec\w*", r"(?:esposo|esposa|marido|mujer|padre|madre|hijo|hija|hermano|hermana|pareja) (?:\w+ )?(?:murio|ha muerto)", r"defuncion", r"funeral", r"herencia", r"herederos?"),
        "nl": (r"overled\w*", r"overlijden\w*", r"gestorven", r"begrafenis", r"erfenis", r"nabestaande\w*"),
        "sv": (r"avliden", r"avled", r"(?:har|hade) dott", r"dodsfall\w*", r"dodsbo\w*", r"begravning\w*", r"arvingar"),
        "it": (r"decedut[oa]", r"decesso", r"(?:marito|moglie|padre|madre|figli[oa]|fratello|sorella|compagn[oa]) (?:\w+ )?e mort[oa]",
               r"venut[oa] a mancare", r"funerale", r"eredita", r"eredi"),
        "pt": (r"falec\w*", r"(?:marido|esposa|esposo|mulher|pai|mae|filh[oa]|irma|irmao) (?:\w+ )?morreu", r"obito", r"funeral", r"heranca", r"herdeiros?"),
    },
    "vulnerable": {
        "en": (r"kill(?:ing)? myself", r"end (?:it all|my life)", r"take my (?:own )?life", r"suicid\w*", r"want to die",
               r"don ?t want to (?:live|be here)", r"no reason to live", r"self[- ]?harm\w*", r"hurt(?:ing)? myself",
               r"better off dead"),
        "de": (r"mich umbringen", r"(?:mir )?das leben nehmen", r"selbstmord\w*", r"suizid\w*", r"nicht mehr leben",
               r"will sterben", r"selbstverletz\w*"),
        "fr": (r"suicid\w*", r"me tuer", r"mettre fin a (?:mes jours|ma vie)", r"en finir", r"envie de mourir"),
        "es": (r"suicid\w*", r"matarme", r"quitarme la vida", r"no quiero (?:seguir )?vivir", r"quiero morir\w*"),
        "nl": (r"zelfmoord\w*", r"suicid\w*", r"mezelf (?:van kant maken|iets aandoen)", r"wil niet meer leven", r"dood willen"),
        "sv": (r"sjalvmord\w*", r"ta mitt liv", r"ta livet av mig", r"vill inte leva", r"vill do"),
        "it": (r"suicid\w*", r"uccidermi", r"togliermi la vita", r"farla finita", r"non voglio piu vivere"),
        "pt": (r"suicid\w*", r"me matar", r"tirar a minha (?:propria )?vida", r"nao quero mais viver", r"quero morrer"),
    },
    # Text that tries to steer the assistant is a reason for a human to read the ticket, not for less care.
    "injection": {
        "en": (r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier|your) (?:instructions|prompts?|rules|messages)",
               r"disregard (?:all |any )?(?:the )?(?:previous|prior|above|earlier|your) \w+", r"system prompt",
               r"you are now (?:a|an|in|my|the) (?:\w+ )?(?:assistant|ai|model|bot|mode|developer|admin)", r"new instructions",
               r"jailbreak",
               # key=value steering ("intent=order_status", "risky: false"); \w* keeps the right-hand word whole
               # so the closing word boundary holds after "=" (it never could right after a symbol).
               r"(?:risky?|intent|route|routing|escalat\w*|needs?[ _]human|safety|confidence|autonomy|role"
               r"|auto[ _]?send)\s*[:=]\s*\w*",
               # a customer line dressed as another speaker's turn: "[Agent, 10:02] Approved: ..."
               r"\[\s*(?:agent|system|assistant|support|admin|staff|operator|moderator)\b[^\]\n]{0,40}\]",
               r"(?:system|assistant|developer|admin)\s*(?:prompt|message|override|note|instruction)?\s*:\s*(?:ignore|you|this|the|risk"
               r"|intent|override|new|disregard|do not|don ?t|classify|route|mark|treat)",
               r"</?\s*(?:system|instructions?)\s*>"),
        "de": (r"ignorier\w* (?:alle |die )?(?:vorherigen |bisherigen )?(?:anweisungen|instruktionen|regeln)",),
        "fr": (r"ignore[rz]? (?:toutes )?(?:les )?(?:instructions|consignes) (?:precedentes)?",),
        "es": (r"ignora\w* (?:todas )?(?:las )?instrucciones",),
        "nl": (r"negeer (?:alle )?(?:vorige |eerdere )?instructies",),
        "sv": (r"ignorera (?:alla )?(?:tidigare )?instruktioner",),
        "it": (r"ignora\w* (?:tutte )?(?:le )?istruzioni",),
        "pt": (r"ignor[ae]\w* (?:todas )?(?:as )?instrucoes",),
    },
}

# A customer asking for a person gets one at once (not a risk flag: the intent may be harmless).
HUMAN_REQUEST: dict[str, tuple[str, ...]] = {
    "en": (r"(?:speak|talk|chat|connect me|put me through|transfer me) (?:to|with) (?:a |an |some |your )?(?:real |actual |live |human )?"
           r"(?:human|person|people|agent|representative|rep|someone|somebody|operator|manager|supervisor|staff|employee)s?",
           r"real (?:person|human)", r"human being", r"live (?:agent|person|chat)", r"(?:want|need|get me) (?:a |an )?(?:human|person|agent)",
           r"not (?:a |an |with a |to a )?(?:bot|robot|machine|ai)", r"human please", r"escalate (?:this|my)"),
    "de": (r"(?:mitarbeiter\w*|menschen|mensch|person|berater\w*|sachbearbeiter\w*|kundenberater\w*|kundendienst) (?:\w+ )?(?:sprechen|reden|verbinden)",
           r"(?:echte|echten|echter|richtigen|richtige) (?:mensch\w*|person|mitarbeiter\w*)", r"kein\w* (?:bot|roboter|ki)",
           r"verbinden sie mich"),
    "fr": (r"(?:parler|discuter) (?:a|avec) quelqu ?un(?: de reel| de vrai)?", r"(?:parler|discuter) (?:a|avec) (?:un |une |l ?|le |la )?(?:vrai |vraie |veritable )?"
           r"(?:humain|personne|conseill\w*|agent|operat\w*|responsable|employe\w*)",
           r"(?:un vrai humain|une vraie personne|un etre humain)", r"pas (?:un |a un )?(?:robot|bot)"),
    "es": (r"hablar con (?:alguien|(?:un |una |el |la )?(?:persona|humano|agente|asesor\w*|operador\w*|representante|responsable|encargad\w*))",
           r"persona (?:real|de verdad)", r"no (?:con )?(?:un )?(?:bot|robot)"),
    "nl": (r"(?:spreken|praten) (?:met|tegen) (?:iemand|(?:een |de )?(?:echte )?(?:mens|medewerker|persoon))", r"(?:met )?(?:een )?medewerker (?:spreken|praten)",
           r"(?:echte|echt) (?:mens|persoon|medewerker)", r"geen (?:bot|robot|computer)"),
    "sv": (r"prata med (?:en )?(?:riktig )?(?:manniska|person|handlaggare|agent|nagon)", r"riktig manniska",
           r"inte (?:en |med en )?(?:bot|robot)"),
    "it": (r"parlare con (?:qualcuno|(?:un |una |l ?)?(?:operatore|operatrice|persona|umano|consulente|agente))",
           r"persona (?:reale|vera)", r"(?:vera|un vero) (?:persona|umano|operatore)", r"non (?:un |con un )?(?:bot|robot)"),
    "pt": (r"falar com (?:alguem|(?:um |uma |o |a )?(?:atendente|humano|pessoa|agente|consultor|operador))",
           r"pessoa (?:real|de verdade)", r"nao (?:com )?(?:um )?(?:bot|robo)"),
}

_CONFUSABLES = str.maketrans({  # Cyrillic and Greek letters that pass for Latin ones
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "κ": "k", "ν": "v", "ι": "i",
})
_LATIN = re.compile(r"[a-z]")
_WORD = re.compile(r"\w+")
_APOSTROPHES = str.maketrans({"'": " ", "’": " ", "‘": " ", "`": " ", "´": " "})


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Cf"))


def _unmask_word(match: re.Match[str]) -> str:
    word = match.group(0)
    mapped = word.translate(_CONFUSABLES)
    # Only words mixing scripts are rewritten: "frаud" with a Cyrillic а, not Russian text.
    return mapped if mapped != word and _LATIN.search(word) else word


def fold(text: str) -> str:
    """Text as the patterns see it: no accents, casefolded, apostrophes as spaces, look-alikes mapped."""
    text = _strip_marks(unicodedata.normalize("NFKC", text)).casefold()
    text = _WORD.sub(_unmask_word, text)
    return text.translate(_APOSTROPHES)


def views(text: str) -> list[str]:
    """The folded texts a rule is matched against: raw (entities decoded) and tag-stripped, URLs removed."""
    seen: list[str] = []
    for variant in (html.unescape(text), plain_text(text)):
        folded = fold(URL_OR_EMAIL.sub(" ", variant))
        if folded not in seen:
            seen.append(folded)
    return seen


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)


def _fold_pattern(pattern: str) -> str:
    # Only accents and ß: escapes such as \S and \W are ASCII and must keep their case.
    return _strip_marks(pattern).replace("ß", "ss")


@dataclass(frozen=True)
class RiskHit:
    flag: str
    pattern: str
    language: str  # the language of the rule that matched ("config" for patterns from config.yaml)
    text: str = ""  # what matched, folded (no accents, lower case)


class SafetyNet:
    """Multilingual risk patterns; extra_patterns from config add regexes per flag (new flags allowed)."""

    def __init__(self, extra_patterns: Mapping[str, Sequence[str]] | None = None) -> None:
        self._rules: list[tuple[str, str, str, re.Pattern[str]]] = [
            (flag, language, pattern, _compile(pattern))
            for flag, by_language in PATTERNS.items()
            for language, patterns in by_language.items()
            for pattern in patterns
        ]
        for flag, patterns in (extra_patterns or {}).items():
            if isinstance(patterns, str):
                raise ValueError(f"safety pattern list for {flag!r} must be a list, not a string")
            for pattern in patterns:
                try:
                    self._rules.append((flag, "config", pattern, _compile(_fold_pattern(pattern))))
                except re.error as exc:
                    raise ValueError(f"bad safety pattern for {flag!r}: {pattern!r}: {exc}") from None

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(flag for flag, *_ in self._rules))

    def scan(self, text: str) -> list[RiskHit]:
        """Every rule that matches text, one hit per (flag, pattern), in rule order."""
        if not text or not text.strip():
            return []
        texts = views(text)
        hits: list[RiskHit] = []
        for flag, language, pattern, regex in self._rules:
            for view in texts:
                match = regex.search(view)
                if match:
                    hits.append(RiskHit(flag, pattern, language, match.group(0).strip()))
                    break
        return hits


_HUMAN_RULES = [(lang, _compile(p)) for lang, patterns in HUMAN_REQUEST.items() for p in patterns]

# Every public reply says: reply "human". The word, in each language above (folded: no accents), reaches a person
# when it is the whole message (give or take politeness), or anywhere in an answer to one of our public replies.
HUMAN_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("human", "humans", "agent", "person", "someone", "operator", "representative", "staff"),
    "de": ("mensch", "menschen", "mitarbeiter", "mitarbeiterin", "berater", "beraterin", "person"),
    "fr": ("humain", "humaine", "personne", "agent", "conseiller", "conseillere", "operateur"),
    "es": ("humano", "humana", "persona", "agente", "asesor", "operador"),
    "nl": ("mens", "medewerker", "persoon"),
    "sv": ("manniska", "manniskan", "person", "handlaggare", "agent"),
    "it": ("umano", "persona", "operatore", "operatrice"),
    "pt": ("humano", "pessoa", "atendente", "agente"),
}
# Words that may surround the one word without changing what it asks for.
_FILLER = frozenset("""a an the please pls plz i want need now real human: hi hello hey ok okay yes
    bitte einen einem ein eine echter echten ich will mochte jetzt hallo ja
    un une s il vous plait svp je veux voudrais bonjour oui vrai vraie
    por favor un una quiero hola si real
    graag een ik wil hallo ja echte
    tack en ett jag vill ha hej ja riktig
    per favore un una voglio ciao si vero vera
    por favor um uma quero ola sim""".split())
_HUMAN_WORD_SET = frozenset(word for words in HUMAN_WORDS.values() for word in words)


def _one_word_request(view: str, anywhere: bool) -> str | None:
    words = _WORD.findall(view)
    found = next((word for word in words if word in _HUMAN_WORD_SET), None)
    if found is None:
        return None
    if anywhere or all(word in _FILLER or word in _HUMAN_WORD_SET for word in words):
        return found
    return None


def asks_for_human(text: str, answering_public_reply: bool = False) -> str | None:
    """The phrase with which the customer asks for a person, or None.

    answering_public_reply: the message answers one of our public replies, which told the customer to reply
    "human": then the word anywhere in it is the request, never the start of a second AI answer.
    """
    for view in views(text or ""):
        for _, regex in _HUMAN_RULES:
            match = regex.search(view)
            if match:
                return match.group(0).strip()
        word = _one_word_request(view, anywhere=answering_public_reply)
        if word:
            return word
    return None


def flags_of(hits: Iterable[RiskHit]) -> tuple[str, ...]:
    """Distinct flags in order of first appearance."""
    return tuple(dict.fromkeys(hit.flag for hit in hits))
