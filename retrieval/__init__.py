"""Models, encoders, vector index and entity linking.

Owns: turning text into vectors and graph ids. Must not touch: Flask, dialogue state.
"""
