"""The web console, the JSON API and the 12369/119 intake on one port (`ecoplan web`)."""

from ecoplan.web.app import create_app  # noqa: F401
