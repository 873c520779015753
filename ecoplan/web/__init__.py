"""The web console, the JSON API and the 12369/119 intake on one port (`ecoplan web`).

`create_app` is imported lazily: every CLI command imports this package for `ecoplan web`'s
options, and FastAPI and the templates would add about 0.9 s to each of them."""


def __getattr__(name: str):
    if name == "create_app":
        from ecoplan.web.app import create_app

        return create_app
    raise AttributeError(name)
