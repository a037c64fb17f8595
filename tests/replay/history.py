"""A generated helpdesk history for replay tests: >= 500 solved Zendesk tickets over several intents, a help
center folder covering all but one topic (gift wrapping: the content gap), and a deterministic fake Claude that
answers like the agents for the good model id and vaguely for the worse one."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.fakes.zendesk import FakeZendesk

CUSTOMER, AGENT = 20_001, 30_001
PII = ("@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "221B Baker Street")
GOOD_MODEL, WORSE_MODEL = "claude-replay-good", "claude-replay-worse"

# topic -> (tag, question, the agent's usual answer, the marker word the fake model recognises)
TOPICS: dict[str, tuple[str, str, str]] = {
    "order": ("order_status",
              "Where is my order {n}? My parcel has not arrived yet. Write to me at casey{n}@example.com",
              "Your order ships within two working days and you can follow it from the tracking link on your order "
              "page."),
    "password": ("password_reset", "I can't log in and forgot my password, call me on +44 20 7946 0958",
                 "Use the reset link on the sign-in page, then choose a new password; the link works for one hour."),
    "refund": ("refund_status", "When will I get my refund for order {n}? I paid with card 4111 1111 1111 1111",
               "Refunds reach your card within 5 business days of us receiving the returned item."),
    "gift": ("gift_wrap", "Do you offer gift wrapping for a birthday present? I live at 221B Baker Street",
             "Yes, gift wrapping is available at checkout with a handwritten card for a small extra charge."),
}
ARTICLES = {
    "shipping.md": "# Shipping and tracking\n\nYour order ships within two working days. Follow your parcel from the "
                   "tracking link on your order page.\n",
    "password.md": "# Reset your password\n\nUse the reset link on the sign-in page, then choose a new password. The "
                   "reset link works for one hour.\n",
}
POLICIES = {"refunds.md": "# Refund policy\n\nRefunds reach your card within 5 business days of us receiving the "
                          "returned item.\n"}


def seed(fake: FakeZendesk, count: int = 520) -> dict[str, int]:
    """Solved tickets cycling through the topics; every 10th agent answer adds a lot; a few are not solved."""
    fake.add_user(CUSTOMER, "Casey Customer", "end-user")
    fake.add_user(AGENT, "Avery Agent", "agent")
    topics = list(TOPICS)
    made = dict.fromkeys(topics, 0)
    for n in range(1, count + 1):
        name = topics[n % len(topics)]
        tag, question, answer = TOPICS[name]
        ticket_id = 1000 + n
        fake.add_ticket(ticket_id, f"Question {n} about {name}", CUSTOMER, tags=[tag],
                        description=question.format(n=n))
        fake.add_comment(ticket_id, AGENT, "Internal: checked the account, nothing odd.", public=False)
        if n % 10 == 0:  # the agent needed much more than the usual answer: a draft would be overridden
            answer = ("Thanks for waiting. I looked at your account and spoke to the warehouse team and the carrier "
                      "today; they confirmed the details, and I have added a voucher to say sorry. " + answer)
        fake.add_comment(ticket_id, AGENT, answer)
        if n % 7 == 0:  # a second customer turn answered too: two examples from one ticket
            fake.add_comment(ticket_id, CUSTOMER, "Thanks! One more thing: is that the same for my other order?")
            fake.add_comment(ticket_id, AGENT, "Yes, the same applies to your other order.")
        fake.update_ticket(ticket_id, status="solved")
        made[name] += 1
    fake.add_ticket(9001, "Still open", CUSTOMER, description="Where is my order? casey@example.com")
    return made


def write_knowledge(root: Path) -> tuple[Path, Path]:
    articles, policies = root / "articles", root / "policies"
    for folder, files in ((articles, ARTICLES), (policies, POLICIES)):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    return articles, policies


INTENTS = {
    "order_status": {"description": "Where is my order, tracking, delivery", "autonomy": "auto_send",
                     "examples": ["Where is my order?", "My parcel has not arrived yet", "Tracking of my parcel"]},
    "refund_status": {"description": "When a refund arrives", "autonomy": "auto_send",
                      "examples": ["When will I get my refund?", "Where is my refund?", "How long do refunds take?"]},
    "password_reset": {"description": "Sign-in trouble, password resets",
                       "examples": ["I forgot my password", "I can't log in", "Reset my password"]},
    "payment_dispute": {"risky": True, "examples": ["I want to dispute this charge", "chargeback"]},
}


def _customer_text(prompt: str) -> str:
    conversation = prompt.split("<passages>")[0]  # what follows is passages and instructions, not the customer
    return conversation.split("[Customer")[-1].lower()


def fake_model(body: dict[str, Any]) -> dict[str, Any]:
    """Deterministic drafts: the agents' answer for the good model, a vague one for the worse model."""
    prompt = body["messages"][0]["content"]
    text = _customer_text(prompt)
    topic = ("password" if "password" in text else "refund" if "refund" in text else
             "gift" if "gift" in text else "order" if "order" in text or "parcel" in text else None)
    labels = re.findall(r'<passage id="(P\d+)"', prompt)
    if topic is None or body["model"] == WORSE_MODEL:
        reply = "Thank you for reaching out. We are looking into this and will get back to you soon."
    else:
        reply = TOPICS[topic][2]
    missing = ["whether we offer gift wrapping"] if topic == "gift" else []
    return {"reply": reply, "cited_passage_ids": labels[:1], "missing_information": missing, "needs_human": False,
            "needs_human_reason": "", "confidence": 0.9}
