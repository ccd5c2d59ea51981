"""The conversation: understanding a message in context, the finite-state
machine, answering policies, session storage, hand-off and event recording.

Owns: what the bot says and when it stops talking. Must not touch: Flask,
raw Cypher (it calls ``graph`` read APIs), model files.
"""
