"""Writes crosslingual_faq.json: the cross-lingual retrieval set benchmarks/crosslingual.py scores retrieval on.

Source: StackFAQ (Karan & Šnajder 2018, TakeLab; StackExchange web-applications Q&A, CC BY-SA), the file
`data/StackFAQ/stackExchange-FAQ.json` of ML-Recipes/BERT-FAQ at commit 3c184030c1819b462e29f665465ab4968657440e
(SHA-256 0ae2af4f8edae91f2dd37c557e2468d412b21d63f534ddc461118434f066f075). The JSON keeps a slice of it: every
thread's question as an English article title and its answers, cut to ARTICLE_CHARS characters (125 articles: the
distractors matter), plus, for 40 threads, the first user-written paraphrase as the English query. The German,
Spanish, French, Swedish, Dutch, Italian and Portuguese queries, and the German versions of ten articles, are our
own translations (derived from CC BY-SA text, so CC BY-SA 4.0 too, attributed as above).

Run: python benchmarks/data/make_crosslingual_eval.py [--datasets DIR]  (DIR holds stackfaq/; deterministic; the
JSON is committed, so neither the benchmark nor the test needs the dataset folder)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import datasets

ARTICLE_CHARS = 1000
OUT = Path(__file__).with_name("crosslingual_faq.json")
LANGUAGES = ("de", "es", "fr", "sv", "nl", "it", "pt")

# thread -> translations of its first paraphrase, in LANGUAGES order.
QUERIES: dict[int, tuple[str, ...]] = {
    0: ("Wie kann ich auf GitHub Text durchstreichen?",
        "¿Cómo puedo tachar texto en GitHub?",
        "Comment barrer du texte sur GitHub ?",
        "Hur gör jag genomstruken text på GitHub?",
        "Hoe maak ik tekst doorgestreept op GitHub?",
        "Come posso barrare il testo su GitHub?",
        "Como faço para riscar texto no GitHub?"),
    1: ("Wie kann ich mein Facebook-Konto löschen?",
        "¿Cómo puedo eliminar mi cuenta de Facebook?",
        "Comment supprimer mon compte Facebook ?",
        "Hur tar jag bort mitt Facebook-konto?",
        "Hoe kan ik mijn Facebook-account verwijderen?",
        "Come posso eliminare il mio account Facebook?",
        "Como posso excluir minha conta do Facebook?"),
    3: ("Wie kann ich in Gmail Text durchstreichen?",
        "¿Cómo tacho texto en Gmail?",
        "Comment barrer du texte dans Gmail ?",
        "Hur stryker jag över text i Gmail?",
        "Hoe streep ik tekst door in Gmail?",
        "Come si barra il testo in Gmail?",
        "Como deixar o texto riscado no Gmail?"),
    7: ("Wie kann ich ein YouTube-Video herunterladen?",
        "¿Cómo puedo descargar un vídeo de YouTube?",
        "Comment télécharger une vidéo YouTube ?",
        "Hur kan jag ladda ner en YouTube-video?",
        "Hoe kan ik een YouTube-video downloaden?",
        "Come posso scaricare un video da YouTube?",
        "Como posso baixar um vídeo do YouTube?"),
    9: ("Kann man Gmail-Nachrichten als Textdateien exportieren?",
        "¿Se pueden exportar los mensajes de Gmail a archivos de texto?",
        "Est-il possible d'exporter des messages Gmail en fichiers texte ?",
        "Går det att exportera Gmail-meddelanden till textfiler?",
        "Is het mogelijk om Gmail-berichten naar tekstbestanden te exporteren?",
        "È possibile esportare i messaggi di Gmail in file di testo?",
        "É possível exportar mensagens do Gmail para arquivos de texto?"),
    12: ("Was passiert mit dem Facebook-Konto, wenn man stirbt?",
         "¿Qué pasa con tu cuenta de Facebook si mueres?",
         "Que devient votre compte Facebook si vous décédez ?",
         "Vad händer med ditt Facebook-konto om du dör?",
         "Wat gebeurt er met je Facebook-account als je overlijdt?",
         "Cosa succede al tuo account Facebook se muori?",
         "O que acontece com sua conta do Facebook se você morrer?"),
    13: ("Kann ich in Gmail mehrere E-Mails auf einmal weiterleiten?",
         "¿Es posible reenviar varios correos a la vez en Gmail?",
         "Peut-on transférer plusieurs e-mails à la fois dans Gmail ?",
         "Kan man vidarebefordra flera mejl samtidigt i Gmail?",
         "Kan ik in Gmail meerdere e-mails tegelijk doorsturen?",
         "È possibile inoltrare più email insieme in Gmail?",
         "É possível encaminhar vários e-mails de uma vez no Gmail?"),
    15: ("Ich habe Angst, dass meine Trello-Daten verloren gehen. Wie kann ich sie einfach sichern?",
         "Me preocupa perder mis datos de Trello, ¿cómo puedo hacer una copia de seguridad fácilmente?",
         "J'ai peur de perdre mes données Trello, comment les sauvegarder facilement ?",
         "Jag är rädd att mina data i Trello försvinner, hur säkerhetskopierar jag dem enkelt?",
         "Ik ben bang dat mijn gegevens in Trello verloren gaan, hoe maak ik er makkelijk een back-up van?",
         "Ho paura di perdere i miei dati di Trello, come posso farne un backup facilmente?",
         "Tenho medo de perder meus dados do Trello, como faço um backup de forma fácil?"),
    19: ("Ich habe versehentlich eine Gmail-Nachricht archiviert. Kann ich das rückgängig machen?",
         "Archivé un mensaje de Gmail por error, ¿se puede deshacer?",
         "J'ai archivé un message Gmail par erreur, est-il possible d'annuler ?",
         "Jag arkiverade ett Gmail-meddelande av misstag, går det att ångra?",
         "Ik heb per ongeluk een Gmail-bericht gearchiveerd, kan ik dat ongedaan maken?",
         "Ho archiviato per sbaglio un messaggio in Gmail, posso annullare?",
         "Arquivei uma mensagem do Gmail sem querer, dá para desfazer isso?"),
    20: ("Kann man Konversationen in Gmail aufteilen?",
         "¿Se pueden separar las conversaciones en Gmail?",
         "Est-il possible de scinder les conversations dans Gmail ?",
         "Går det att dela upp konversationer i Gmail?",
         "Is het mogelijk om gesprekken in Gmail te splitsen?",
         "È possibile dividere le conversazioni in Gmail?",
         "É possível separar as conversas no Gmail?"),
    22: ("Kann man in Trello eine Liste löschen?",
         "¿Se puede borrar una lista en Trello?",
         "Est-il possible de supprimer une liste dans Trello ?",
         "Går det att ta bort en lista i Trello?",
         "Kan ik een lijst in Trello verwijderen?",
         "È possibile eliminare una lista in Trello?",
         "É possível excluir uma lista no Trello?"),
    24: ("Kann ich jemandem auf Twitter folgen, ohne dass er es merkt?",
         "¿Puedo seguir a alguien en Twitter sin que se entere?",
         "Puis-je suivre quelqu'un sur Twitter sans qu'il le sache ?",
         "Kan jag följa någon på Twitter utan att personen märker det?",
         "Kan ik iemand op Twitter volgen zonder dat diegene het merkt?",
         "Posso seguire qualcuno su Twitter senza che se ne accorga?",
         "Posso seguir alguém no Twitter sem que a pessoa saiba?"),
    25: ("Ich möchte alles sichern, was ich auf Twitter geschrieben habe. Wie mache ich das?",
         "Quiero hacer una copia de seguridad de todo lo que he escrito en Twitter. ¿Cómo lo hago?",
         "Je voudrais sauvegarder tout ce que j'ai écrit sur Twitter. Comment faire ?",
         "Jag vill säkerhetskopiera allt jag har skrivit på Twitter. Hur gör jag det?",
         "Ik wil een back-up maken van alles wat ik op Twitter heb geschreven. Hoe doe ik dat?",
         "Vorrei fare un backup di tutto quello che ho scritto su Twitter. Come si fa?",
         "Quero fazer um backup de tudo o que escrevi no Twitter. Como faço isso?"),
    26: ("Gibt es eine Möglichkeit, einen Nutzer auf GitHub zu kontaktieren?",
         "¿Hay alguna forma de contactar con un usuario en GitHub?",
         "Y a-t-il un moyen de contacter un utilisateur sur GitHub ?",
         "Finns det något sätt att kontakta en användare på GitHub?",
         "Is er een manier om contact op te nemen met een gebruiker op GitHub?",
         "C'è un modo per contattare un utente su GitHub?",
         "Existe alguma forma de entrar em contato com um usuário no GitHub?"),
    31: ("Kann ich Trello auf meinem eigenen Server betreiben?",
         "¿Es posible alojar mi propio Trello?",
         "Est-il possible d'héberger mon propre Trello ?",
         "Går det att drifta en egen Trello på min server?",
         "Kan ik Trello zelf hosten?",
         "È possibile ospitare Trello sul mio server?",
         "É possível hospedar o meu próprio Trello?"),
    34: ("Wie finde ich heraus, wer mich auf Facebook entfreundet hat?",
         "¿Cómo puedo saber quién me ha eliminado de amigos en Facebook?",
         "Comment savoir qui m'a retiré de ses amis sur Facebook ?",
         "Hur tar jag reda på vem som har tagit bort mig som vän på Facebook?",
         "Hoe kom ik erachter wie mij heeft ontvriend op Facebook?",
         "Come faccio a sapere chi mi ha tolto dagli amici su Facebook?",
         "Como descubro quem me desfez a amizade no Facebook?"),
    38: ("Kann ich in Gmail nach Nachrichten suchen, die an einem bestimmten Tag gesendet oder empfangen wurden?",
         "¿Puedo buscar en Gmail los mensajes enviados o recibidos en un día concreto?",
         "Puis-je chercher dans Gmail les messages envoyés ou reçus un jour précis ?",
         "Kan jag söka i Gmail efter meddelanden som skickades eller togs emot en viss dag?",
         "Kan ik in Gmail zoeken naar berichten die op een bepaalde dag zijn verzonden of ontvangen?",
         "Posso cercare in Gmail i messaggi inviati o ricevuti in un giorno preciso?",
         "Posso pesquisar no Gmail as mensagens enviadas ou recebidas em um dia específico?"),
    39: ("Kann man auf eine bestimmte Stelle in einem YouTube-Video verlinken?",
         "¿Se puede enlazar a un momento concreto de un vídeo de YouTube?",
         "Est-il possible de créer un lien vers un moment précis d'une vidéo YouTube ?",
         "Går det att länka till en viss tidpunkt i en YouTube-video?",
         "Kan ik linken naar een bepaald moment in een YouTube-video?",
         "È possibile creare un link a un punto preciso di un video di YouTube?",
         "É possível criar um link para um ponto específico de um vídeo do YouTube?"),
    47: ("Ich habe Angst, meine E-Mails in Gmail zu verlieren. Kann ich sie sichern?",
         "Me da miedo perder mis correos de Gmail, ¿puedo hacer una copia de seguridad?",
         "J'ai peur de perdre mes e-mails Gmail, puis-je les sauvegarder ?",
         "Jag är rädd att förlora mina mejl i Gmail, kan jag säkerhetskopiera dem?",
         "Ik ben bang mijn mails in Gmail kwijt te raken, kan ik er een back-up van maken?",
         "Ho paura di perdere le mie email su Gmail, posso farne un backup?",
         "Tenho medo de perder meus e-mails do Gmail, posso fazer um backup deles?"),
    48: ("Kann man online ein Fax verschicken?",
         "¿Es posible enviar un fax por internet?",
         "Est-il possible d'envoyer un fax en ligne ?",
         "Går det att skicka ett fax via nätet?",
         "Is het mogelijk om online een fax te versturen?",
         "È possibile inviare un fax online?",
         "É possível enviar um fax pela internet?"),
    50: ("Ich möchte alle E-Mails aus meinem Gmail-Konto löschen.",
         "Quiero borrar todos los correos de mi cuenta de Gmail.",
         "Je veux supprimer tous les e-mails de mon compte Gmail.",
         "Jag vill radera alla mejl i mitt Gmail-konto.",
         "Ik wil alle e-mails uit mijn Gmail-account verwijderen.",
         "Voglio eliminare tutte le email dal mio account Gmail.",
         "Quero apagar todos os e-mails da minha conta do Gmail."),
    55: ("Kann ich eine Trello-Karte als erledigt markieren, ohne sie aus ihrer Liste zu verschieben?",
         "¿Puedo marcar una tarjeta de Trello como hecha sin moverla de su lista?",
         "Peut-on marquer une carte Trello comme terminée sans la déplacer de sa liste ?",
         "Kan man markera ett Trello-kort som klart utan att flytta det från listan?",
         "Kan ik een Trello-kaart als klaar markeren zonder hem uit de lijst te verplaatsen?",
         "Posso segnare una scheda di Trello come completata senza spostarla dalla sua lista?",
         "Posso marcar um cartão do Trello como concluído sem tirá-lo da lista?"),
    60: ("Kann ich auf einen bestimmten Ort in Google Maps verlinken?",
         "¿Puedo enlazar a una ubicación concreta en Google Maps?",
         "Puis-je créer un lien vers un lieu précis sur Google Maps ?",
         "Kan jag länka till en viss plats på Google Maps?",
         "Kan ik linken naar een bepaalde locatie op Google Maps?",
         "Posso creare un link a un luogo preciso su Google Maps?",
         "Posso criar um link para um local específico no Google Maps?"),
    63: ("Kann man mehrere Dropbox-Konten auf demselben Computer haben?",
         "¿Se puede tener más de una cuenta de Dropbox en el mismo ordenador?",
         "Est-il possible d'avoir plusieurs comptes Dropbox sur le même ordinateur ?",
         "Går det att ha flera Dropbox-konton på samma dator?",
         "Kan ik meer dan één Dropbox-account op dezelfde computer hebben?",
         "È possibile avere più di un account Dropbox sullo stesso computer?",
         "É possível ter mais de uma conta do Dropbox no mesmo computador?"),
    65: ("Ich würde gern eine Spalte mit der Größe der E-Mails in Gmail anzeigen. Geht das?",
         "Me gustaría añadir una columna con el tamaño de los correos en Gmail, ¿es posible?",
         "J'aimerais afficher une colonne avec la taille des e-mails dans Gmail, est-ce possible ?",
         "Jag skulle vilja visa en kolumn med mejlens storlek i Gmail, går det?",
         "Ik wil graag een kolom met de grootte van e-mails in Gmail, kan dat?",
         "Vorrei aggiungere una colonna con la dimensione delle email in Gmail, è possibile?",
         "Gostaria de adicionar uma coluna com o tamanho dos e-mails no Gmail, é possível?"),
    71: ("Kann ich eine E-Mail in Gmail als dringend markieren?",
         "¿Es posible marcar un correo como urgente en Gmail?",
         "Est-il possible de marquer un e-mail comme urgent dans Gmail ?",
         "Går det att markera ett mejl som brådskande i Gmail?",
         "Kan ik een e-mail in Gmail als dringend markeren?",
         "È possibile contrassegnare un'email come urgente in Gmail?",
         "É possível marcar um e-mail como urgente no Gmail?"),
    75: ("Kann ich einen Computer von Dropbox trennen, ohne Zugriff auf diesen Computer zu haben?",
         "¿Se puede desvincular un ordenador de Dropbox sin tener acceso a ese ordenador?",
         "Peut-on dissocier un ordinateur de Dropbox sans y avoir accès ?",
         "Går det att koppla bort en dator från Dropbox utan att ha tillgång till datorn?",
         "Kan ik een computer ontkoppelen van Dropbox zonder toegang tot die computer?",
         "È possibile scollegare un computer da Dropbox senza avervi accesso?",
         "É possível desvincular um computador do Dropbox sem ter acesso a ele?"),
    79: ("Was macht die Archivieren-Funktion in Gmail?",
         "¿Qué hace la opción de archivar en Gmail?",
         "Que fait l'action Archiver dans Gmail ?",
         "Vad gör arkivera-funktionen i Gmail?",
         "Wat doet archiveren in Gmail?",
         "Cosa fa l'operazione di archiviazione in Gmail?",
         "O que a função arquivar faz no Gmail?"),
    83: ("Ich möchte die automatische Wiedergabe auf YouTube ausschalten.",
         "Quiero desactivar la reproducción automática en YouTube.",
         "Je voudrais désactiver la lecture automatique sur YouTube.",
         "Jag vill stänga av automatisk uppspelning på YouTube.",
         "Ik wil automatisch afspelen op YouTube uitschakelen.",
         "Vorrei disattivare la riproduzione automatica su YouTube.",
         "Quero desativar a reprodução automática no YouTube."),
    85: ("Ich habe versehentlich einen Computer bei der Google-Bestätigung in zwei Schritten als vertrauenswürdig "
         "eingestuft. Wie widerrufe ich das?",
         "Por error marqué un ordenador como de confianza en la verificación en dos pasos de Google, ¿cómo lo "
         "revoco?",
         "J'ai défini par erreur un ordinateur comme fiable pour la validation en deux étapes de Google, comment "
         "annuler cela ?",
         "Jag har av misstag markerat en dator som betrodd i Googles tvåstegsverifiering, hur återkallar jag det?",
         "Ik heb per ongeluk een computer als vertrouwd ingesteld bij de verificatie in twee stappen van Google, hoe "
         "trek ik dat in?",
         "Ho impostato per errore un computer come attendibile nella verifica in due passaggi di Google, come "
         "revoco questa fiducia?",
         "Configurei sem querer um computador como confiável na verificação em duas etapas do Google, como revogo "
         "isso?"),
    92: ("Wie lade ich am einfachsten einen ganzen Ordner über die Dropbox-Weboberfläche herunter?",
         "¿Cuál es la forma más fácil de descargar una carpeta entera desde la web de Dropbox?",
         "Quel est le moyen le plus simple de télécharger un dossier entier depuis le site de Dropbox ?",
         "Hur laddar jag enklast ner en hel mapp från Dropbox webbgränssnitt?",
         "Wat is de makkelijkste manier om een hele map te downloaden via de website van Dropbox?",
         "Qual è il modo più semplice per scaricare un'intera cartella dal sito web di Dropbox?",
         "Qual é a maneira mais fácil de baixar uma pasta inteira pela interface web do Dropbox?"),
    95: ("Ich möchte eine E-Mail zeitversetzt senden. Unterstützt Gmail das?",
         "Quiero enviar un correo con retraso, ¿Gmail lo permite?",
         "Je voudrais envoyer un e-mail en différé, Gmail le permet-il ?",
         "Jag vill skicka ett mejl med fördröjning, stöder Gmail det?",
         "Ik wil een e-mail met vertraging versturen, kan dat in Gmail?",
         "Vorrei inviare un'email in differita, Gmail lo supporta?",
         "Quero enviar um e-mail com atraso, o Gmail permite isso?"),
    97: ("Kann ich irgendwie erfahren, ob der Empfänger meine E-Mail gelesen hat?",
         "¿Hay alguna manera de saber si el destinatario ha leído mi correo?",
         "Y a-t-il un moyen de savoir si le destinataire a lu mon e-mail ?",
         "Finns det något sätt att veta om mottagaren har läst mitt mejl?",
         "Is er een manier om te weten of de ontvanger mijn mail heeft gelezen?",
         "C'è un modo per sapere se il destinatario ha letto la mia email?",
         "Existe alguma forma de saber se o destinatário leu meu e-mail?"),
    98: ("Ich habe einen kleinen Fehler in meinem YouTube-Video korrigiert. Kann ich die neue Version über die "
         "fehlerhafte hochladen?",
         "He corregido un pequeño error en mi vídeo de YouTube, ¿puedo subir la versión corregida en lugar de la "
         "defectuosa?",
         "J'ai corrigé une petite erreur dans ma vidéo YouTube, puis-je mettre en ligne la version corrigée à la "
         "place de l'ancienne ?",
         "Jag har rättat ett litet fel i min YouTube-video, kan jag ladda upp den rättade versionen över den gamla?",
         "Ik heb een klein foutje in mijn YouTube-video verbeterd, kan ik de verbeterde versie over de oude heen "
         "uploaden?",
         "Ho corretto un piccolo errore nel mio video di YouTube, posso caricare la versione corretta al posto di "
         "quella sbagliata?",
         "Corrigi um pequeno erro no meu vídeo do YouTube, posso enviar a versão corrigida no lugar da errada?"),
    105: ("Ich möchte meine Google-Chat-Verläufe exportieren. Wie geht das?",
          "Quiero exportar mi historial de Google Chat, ¿cómo lo hago?",
          "Je voudrais exporter l'historique de mes discussions Google Chat, comment faire ?",
          "Jag vill exportera mina chattloggar från Google Chat, hur gör jag?",
          "Ik wil mijn chatgeschiedenis van Google Chat exporteren, hoe doe ik dat?",
          "Vorrei esportare la cronologia delle chat di Google Chat, come si fa?",
          "Quero exportar o histórico de conversas do Google Chat, como faço?"),
    108: ("Kann ich alle meine privaten Facebook-Nachrichten herunterladen, um sie zu sichern?",
          "¿Hay alguna forma de guardar todos mis mensajes privados de Facebook descargándolos?",
          "Y a-t-il un moyen de sauvegarder tous mes messages privés Facebook en les téléchargeant ?",
          "Går det att säkerhetskopiera alla mina privata meddelanden på Facebook genom att ladda ner dem?",
          "Kan ik al mijn privéberichten op Facebook downloaden als back-up?",
          "C'è un modo per salvare tutti i miei messaggi privati di Facebook scaricandoli?",
          "Existe uma forma de fazer backup de todas as minhas mensagens privadas do Facebook baixando-as?"),
    113: ("Kann man das automatische Speichern von Dokumenten in Google Docs deaktivieren?",
          "¿Se puede desactivar el guardado automático de documentos en Google Docs?",
          "Est-il possible de désactiver l'enregistrement automatique des documents dans Google Docs ?",
          "Går det att stänga av automatisk sparning av dokument i Google Docs?",
          "Kan ik het automatisch opslaan van documenten in Google Docs uitzetten?",
          "È possibile disattivare il salvataggio automatico dei documenti in Google Docs?",
          "É possível desativar o salvamento automático de documentos no Google Docs?"),
    119: ("Kann man Gmail-Nachrichten verschlüsseln?",
          "¿Es posible cifrar los mensajes de Gmail?",
          "Est-il possible de chiffrer les messages Gmail ?",
          "Går det att kryptera meddelanden i Gmail?",
          "Is het mogelijk om Gmail-berichten te versleutelen?",
          "È possibile crittografare i messaggi di Gmail?",
          "É possível criptografar mensagens do Gmail?"),
    120: ("Kann man in Google Maps die Entfernung zwischen zwei Punkten messen?",
          "¿Se puede medir la distancia entre dos puntos en Google Maps?",
          "Est-il possible de mesurer la distance entre deux points sur Google Maps ?",
          "Går det att mäta avståndet mellan två punkter i Google Maps?",
          "Kan ik in Google Maps de afstand tussen twee punten meten?",
          "È possibile misurare la distanza tra due punti su Google Maps?",
          "É possível medir a distância entre dois pontos no Google Maps?"),
    121: ("Kann ich Kontakte von meinem alten Google-Konto in mein neues übertragen?",
          "¿Es posible pasar los contactos de mi antigua cuenta de Google a la nueva?",
          "Est-il possible de transférer les contacts de mon ancien compte Google vers le nouveau ?",
          "Går det att flytta kontakter från mitt gamla Google-konto till det nya?",
          "Kan ik contacten van mijn oude Google-account naar mijn nieuwe verplaatsen?",
          "È possibile spostare i contatti dal mio vecchio account Google a quello nuovo?",
          "É possível transferir os contatos da minha conta antiga do Google para a nova?"),
}

# German versions of ten articles (title, body): translations of the start of each thread's first answer, so a
# help center that has the German one must show it first to a German customer.
GERMAN_ARTICLES: dict[int, tuple[str, str]] = {
    1: ("Wie lösche ich mein Facebook-Konto?",
        "Rufen Sie http://www.facebook.com/help/delete_account auf, klicken Sie auf „Absenden“ und folgen Sie den "
        "Anweisungen. Ihr Konto wird zwei Wochen lang deaktiviert; wenn Sie Facebook in dieser Zeit in KEINER WEISE "
        "nutzen, wird es endgültig gelöscht."),
    7: ("Wie lade ich ein YouTube-Video herunter?",
        "Wenn Sie Firefox verwenden, gibt es dafür viele Add-ons, zum Beispiel NetVideoHunter, Video DownloadHelper "
        "oder 1-Click YouTube Video Download. Für Google Chrome können Sie YouTube Downloader ausprobieren. Auch "
        "Opera hat mehrere Widgets für diesen Zweck."),
    19: ("Wie hole ich eine versehentlich archivierte Nachricht in Gmail zurück?",
         "Klicken Sie links auf „Alle Nachrichten“. Öffnen Sie die Nachricht und wählen Sie „In den Posteingang "
         "verschieben“, um die Archivierung aufzuheben. Sie können die Nachricht auch über die Suche oben auf der "
         "Gmail-Seite finden. Mehr dazu in der Gmail-Hilfe."),
    22: ("Wie lösche ich eine Liste oder Karte in Trello?",
         "Listen und Boards lassen sich leider (noch) nicht löschen; Archivieren und Schließen haben eine ähnliche "
         "Wirkung. Karten können inzwischen gelöscht werden: Archivieren Sie die Karte zuerst und klicken Sie dann "
         "auf der Rückseite der Karte auf „Löschen“ oder im Board auf „Archiv anzeigen“."),
    39: ("Direkt auf eine bestimmte Stelle eines YouTube-Videos verlinken",
         "Hängen Sie einfach #t=XmYs an das Ende der URL an, wobei X die Minuten und Y die Sekunden sind, also zum "
         "Beispiel http://www.youtube.com/watch?v=xxxxxxxxxxxx#t=2m0s."),
    50: ("Wie lösche ich alle E-Mails aus meinem Gmail-Konto?",
         "Öffnen Sie die Ansicht „Alle Nachrichten“ und klicken Sie auf „Alle auswählen“. In einem gelben Balken "
         "erscheint dann „Alle 100 Konversationen auf dieser Seite sind ausgewählt“. Klicken Sie daneben auf „Alle "
         "Konversationen in Alle Nachrichten auswählen“ und anschließend auf „Löschen“."),
    60: ("Einen Google-Maps-Link zu einem bestimmten Ort erstellen",
         "Das ist ganz einfach: Verwenden Sie den folgenden Link und ersetzen Sie Breiten- und Längengrad durch Ihre "
         "eigenen. z ist die Zoomstufe. http://maps.google.com/?ie=UTF8&hq=&ll=35.028028,-106.536655&z=13 Sie finden "
         "den Link auch über die Schaltfläche „Link“ rechts oben über der Karte."),
    83: ("Wie deaktiviere ich die automatische Wiedergabe auf YouTube?",
         "Google Chrome: Nutzer von Google Chrome können die Erweiterung „Stop Autoplay for YouTube“ verwenden. Sie "
         "schaltet die automatische Wiedergabe auf YouTube ab, das Puffern des Videos verhindert sie aber nicht."),
    119: ("Wie verschlüssele ich E-Mails, die ich mit Gmail sende?",
          "Ein Greasemonkey-Skript dafür finden Sie zum Beispiel unter "
          "http://www.langenhoven.com/code/emailencrypt/gmailencrypt.php. Suchen Sie außerdem nach Gmail und PGP."),
    120: ("Wie messe ich Entfernungen in Google Maps?",
          "Sie können das Entfernungsmesswerkzeug im Bereich „Labs“ von Google Maps aktivieren. Damit messen Sie die "
          "Länge eines Weges auf der Erde."),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    datasets.add_argument(parser)
    source = datasets.require(parser.parse_args().datasets, datasets.STACKFAQ) / "stackExchange-FAQ.json"
    threads = json.loads(source.read_text(encoding="utf-8"))["root"]["qapair"]
    articles, queries = [], []
    for n, thread in enumerate(threads):
        answers = thread["answer"] if isinstance(thread["answer"], list) else [thread["answer"]]
        body = "\n\n".join(a.strip() for a in answers if a and a.strip())
        articles.append({"id": n, "title": thread["question"].strip(), "body": body[:ARTICLE_CHARS]})
        if n in QUERIES:
            rephrasings = thread["rephr"] if isinstance(thread["rephr"], list) else [thread["rephr"]]
            english = next(r.strip() for r in rephrasings if r and r.strip() and r.strip() != "*")
            queries.append({"article": n, "en": english, **dict(zip(LANGUAGES, QUERIES[n], strict=True))})
    german = [{"id": n, "title": title, "body": body} for n, (title, body) in sorted(GERMAN_ARTICLES.items())]
    OUT.write_text(json.dumps({
        "source": "StackFAQ (Karan & Šnajder 2018, TakeLab), stackExchange-FAQ.json of ML-Recipes/BERT-FAQ at "
                  "3c184030c1819b462e29f665465ab4968657440e; answers cut to 1000 characters; translations by the "
                  "deskdraft authors (benchmarks/data/make_crosslingual_eval.py)",
        "licence": "CC BY-SA 4.0: StackExchange content, attribution to StackExchange and the StackFAQ authors",
        "languages": ["en", *LANGUAGES], "articles": articles, "german_articles": german, "queries": queries,
    }, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(articles)} articles, {len(german)} German versions, {len(queries)} queries x "
          f"{1 + len(LANGUAGES)} languages")


if __name__ == "__main__":
    main()
