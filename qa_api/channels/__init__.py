"""Messaging channels other than the web widget (WeChat): each adapts a platform's
message format and signature scheme to ``ChatEngine.chat``."""
