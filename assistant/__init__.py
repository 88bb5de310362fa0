"""Tanya Netralitas: grounded answers about the election neutrality of Indonesian civil
servants (ASN), offline.

    from assistant import ask
    answer = ask("Bolehkah ASN memberi like pada unggahan calon kepala daerah?")
"""

from assistant.answer import Answer, Citation, InvalidQuestion
from assistant.chat import Assistant, ask
from assistant.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "InvalidQuestion", "Settings", "ask"]
__version__ = "0.1.0"
