"""A small synthetic intent set for router and routing tests (hash embedding: word overlap is what counts)."""
from __future__ import annotations

import numpy as np

from drafting.routing import IntentSpec
from knowledge.embeddings import build_embedding

INTENTS = (
    IntentSpec("order_status", "Customer asks where their order is", (
        "where is my order", "my order has not arrived yet", "when will my order arrive", "track my order please",
        "has my order shipped", "what is the delivery status of my order", "my package is late where is it",
        "order still not delivered",
    ), risky=False),
    IntentSpec("refund_request", "Customer wants a refund", (
        "I want a refund", "please refund my money", "how do I get a refund for this", "refund for the returned item",
        "can I have my money back", "I returned the item and want my refund", "give me a refund please",
        "when will I get my refund",
    ), risky=False),
    IntentSpec("change_address", "Customer wants to change the delivery address", (
        "change my delivery address", "update the shipping address on my order", "I moved, new address please",
        "wrong address on the order, can you change it", "can I change the address", "please update my address",
        "ship it to a different address", "edit delivery address",
    ), risky=False),
    IntentSpec("password_reset", "Customer cannot log in", (
        "I forgot my password", "reset my password", "I can't log in", "login does not work",
        "password reset link not working", "locked out of login", "how do I change my password", "new password please",
    ), risky=False),
    # Risky, and none of its examples uses a safety-net word: only the intent rule can mark it.
    IntentSpec("warranty_claim", "Customer claims under the warranty for a broken appliance", (
        "my appliance broke and I want to claim the warranty", "the washing machine stopped working under warranty",
        "warranty claim for broken fridge", "the dishwasher is broken, is it covered by the warranty",
        "my oven broke after two months warranty claim", "broken appliance warranty", "claim warranty for the heater",
        "warranty repair for my broken dryer",
    ), risky=True),
)

HELD_OUT = [
    ("where is my package, has it shipped", "order_status"),
    ("my order is late and not delivered", "order_status"),
    ("I would like a refund for the item", "refund_request"),
    ("can I get my money back please", "refund_request"),
    ("please change the address for delivery", "change_address"),
    ("update my shipping address", "change_address"),
    ("forgot password, can't log in", "password_reset"),
    ("the password reset does not work", "password_reset"),
    ("my fridge broke, warranty claim please", "warranty_claim"),
]


def hash_embed(texts) -> np.ndarray:
    return np.asarray(build_embedding("hash")(list(texts)))
