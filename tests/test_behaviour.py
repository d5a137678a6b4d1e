"""Behaviour the conversation scripts and the property machine leave loose, pinned down.

Each test here was written against a mutant that survived the mutation run (README
"Mutation testing") or a bug planted by hand: it states the behaviour that mutant broke.
"""
