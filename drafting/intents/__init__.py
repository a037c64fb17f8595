"""Intents: which configured intent a customer's message is about, and the route a ticket takes.

    classifier.py   the calibrated intent classifier at run time (probabilities, out-of-scope similarity)
    training.py     the training set from config.yaml, the fit, temperature and out-of-scope calibration
    persistence.py  the classifier on disk (.npz), cached per training set and embedding; labelled tickets
    routing.py      one Route per ticket: intent decision, risk, mood, language, a request for a person
"""
