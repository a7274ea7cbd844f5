"""A stand-in for Wikidata, its query service and Wikimedia Commons (`server.py`), and the test gallery."""

from tests.wikimedia.scenario import korean_gallery
from tests.wikimedia.server import StandInFile, StandInPerson, WikimediaStandIn

__all__ = ["StandInFile", "StandInPerson", "WikimediaStandIn", "korean_gallery"]
